"""Generated dates: a human-written date and its ISO form, for sequence-to-sequence models.

``Dates`` pairs strings such as "3 march 1999", "Mar 3rd, 99", "03/03/1999",
"WEDNESDAY, MARCH 3, 1999", "1999.03.03" or "3.3.99" with "1999-03-03". Dates
lie in 1950-01-01 .. 2049-12-31, so a two-digit year is never ambiguous: 50-99
mean 1950-1999 and 00-49 mean 2000-2049. Every format is written without
ambiguity (:data:`FORMATS`): slashes with the year last put the month first
(US: "03/04/1999" is March 4), dots and dashes with the year last put the day
first ("3.4.99" is 3 April), and a four-digit year first is followed by month
then day. Month and weekday names are English, written by this module (not by
``strftime``, whose names depend on the locale).
"""
from __future__ import annotations

import datetime
from typing import Callable

import numpy as np

from ..dataset import Dataset
from ..text import CharVocab

FIRST_DATE = datetime.date(1950, 1, 1)
LAST_DATE = datetime.date(2049, 12, 31)

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _th(day: int) -> str:
    """The day with its English ordinal suffix: 1st, 2nd, 3rd, 4th, 11th, 21st."""
    suffix = "th" if 11 <= day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _month(d: datetime.date) -> str:
    return MONTHS[d.month - 1]


def _mon(d: datetime.date) -> str:
    return MONTHS[d.month - 1][:3]


def _weekday(d: datetime.date) -> str:
    return WEEKDAYS[d.weekday()]


# format name -> writer; the names spell the fields: D day, DD zero-padded day, Dth ordinal,
# M / MM month number, Mon / Month its name, YY / YYYY the year, Wkd / Weekday the weekday
FORMATS: dict[str, Callable[[datetime.date], str]] = {
    "D Month YYYY": lambda d: f"{d.day} {_month(d)} {d.year}",
    "D Mon YYYY": lambda d: f"{d.day} {_mon(d)} {d.year}",
    "DD Mon YY": lambda d: f"{d.day:02d} {_mon(d)} {d.year % 100:02d}",
    "Month D, YYYY": lambda d: f"{_month(d)} {d.day}, {d.year}",
    "Mon D, YYYY": lambda d: f"{_mon(d)} {d.day}, {d.year}",
    "Mon Dth, YY": lambda d: f"{_mon(d)} {_th(d.day)}, {d.year % 100:02d}",
    "Month Dth, YYYY": lambda d: f"{_month(d)} {_th(d.day)}, {d.year}",
    "Dth of Month YYYY": lambda d: f"{_th(d.day)} of {_month(d)} {d.year}",
    "Weekday, Month D, YYYY": lambda d: f"{_weekday(d)}, {_month(d)} {d.day}, {d.year}",
    "Wkd, D Mon YYYY": lambda d: f"{_weekday(d)[:3]}, {d.day} {_mon(d)} {d.year}",
    "Weekday D Month YYYY": lambda d: f"{_weekday(d)} {d.day} {_month(d)} {d.year}",
    "MM/DD/YYYY": lambda d: f"{d.month:02d}/{d.day:02d}/{d.year}",
    "M/D/YY": lambda d: f"{d.month}/{d.day}/{d.year % 100:02d}",
    "YYYY/MM/DD": lambda d: f"{d.year}/{d.month:02d}/{d.day:02d}",
    "YYYY.MM.DD": lambda d: f"{d.year}.{d.month:02d}.{d.day:02d}",
    "D.M.YY": lambda d: f"{d.day}.{d.month}.{d.year % 100:02d}",
    "DD.MM.YYYY": lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",
    "DD-Mon-YYYY": lambda d: f"{d.day:02d}-{_mon(d)}-{d.year}",
    "YYYY-MM-DD": lambda d: d.isoformat(),
    "YYYYMMDD": lambda d: f"{d.year}{d.month:02d}{d.day:02d}",
}

# letter case applied to a whole written date
CASES: dict[str, Callable[[str], str]] = {"as written": str, "lower": str.lower,
                                          "upper": str.upper}


def format_date(date: datetime.date, fmt: str, case: str = "as written") -> str:
    """``date`` written in the format named ``fmt`` (a key of :data:`FORMATS`) and ``case``."""
    if fmt not in FORMATS:
        raise ValueError(f"format_date: unknown format {fmt!r}; formats: {', '.join(FORMATS)}")
    if case not in CASES:
        raise ValueError(f"format_date: unknown case {case!r}; cases: {', '.join(CASES)}")
    return CASES[case](FORMATS[fmt](date))


def _source_vocab() -> CharVocab:
    """Every character a written date can hold (from the names, not from samples, so it
    never depends on the seed), ``<pad>`` = 0, and ``<unk>`` for anything else."""
    words = MONTHS + WEEKDAYS + ("st", "nd", "rd", "th", "of")
    texts = [case(w) for w in words for case in CASES.values()] + ["0123456789 ,./-"]
    return CharVocab(texts, specials=("<pad>",), unk=True)


class Dates(Dataset):
    """Generated (written date, ISO date) pairs for sequence-to-sequence models.

    The split holds ``n_samples`` pairs. The calendar days from
    :data:`FIRST_DATE` to :data:`LAST_DATE` are shuffled with
    ``numpy.random.default_rng(seed)`` and ``test_fraction`` of them are test
    days, the rest train days, so for a given ``seed`` no test date is ever
    seen in training (in any format), whatever ``n_samples``. Each pair draws
    a day of its split, a format of :data:`FORMATS` and a letter case of
    :data:`CASES` uniformly (one random stream per split and seed).

    ``ds[i] = (source, target)``, int64 arrays: ``source`` (source_len,) the
    written date's character ids right-padded with ``<pad>`` (id 0) and
    ``target`` (12,) = ``<bos> Y Y Y Y - M M - D D <eos>``. ``source_vocab`` and
    ``target_vocab`` are :class:`~nabla.data.text.CharVocab` s (``pad_id`` 0 in
    both, ``bos_id`` 1 and ``eos_id`` 2 in the target; the source has an
    ``<unk>`` for characters no format writes); ``pairs`` holds the
    (text, ISO) strings; :meth:`decode_source` / :meth:`decode_target` turn ids
    back into text and :meth:`encode_source` writes any string as a source.
    """

    target_len = 12

    def __init__(self, n_samples: int = 10000, train: bool = True, seed: int = 0, *,
                 test_fraction: float = 0.2, source_len: int = 32,
                 transform: Callable | None = None, target_transform: Callable | None = None):
        if not isinstance(n_samples, int) or n_samples < 1:
            raise ValueError(f"Dates: n_samples should be a positive integer, got "
                             f"{n_samples!r}")
        if not 0.0 < test_fraction < 1.0:
            raise ValueError(f"Dates: test_fraction should be in (0, 1), got {test_fraction}")
        self.n_samples, self.train, self.seed = n_samples, train, seed
        self.test_fraction, self.source_len = test_fraction, source_len
        self.transform, self.target_transform = transform, target_transform
        self.source_vocab = _source_vocab()
        self.target_vocab = CharVocab("0123456789-", specials=("<pad>", "<bos>", "<eos>"))

        n_days = (LAST_DATE - FIRST_DATE).days + 1
        order = np.random.default_rng(seed).permutation(n_days)
        n_test_days = round(test_fraction * n_days)
        days = np.sort(order[:n_test_days] if not train else order[n_test_days:])
        self.days = [FIRST_DATE + datetime.timedelta(days=int(k)) for k in days]

        rng = np.random.default_rng([seed, 0 if train else 1])  # one stream per split
        picks = rng.integers(len(days), size=n_samples)
        fmts = rng.integers(len(FORMATS), size=n_samples)
        cases = rng.integers(len(CASES), size=n_samples)
        names, case_names = list(FORMATS), list(CASES)
        self.pairs = [(format_date(self.days[k], names[f], case_names[c]),
                       self.days[k].isoformat()) for k, f, c in zip(picks, fmts, cases)]
        self._sources = np.stack([self.encode_source(t) for t, _ in self.pairs])  # (N, S)
        bos, eos = self.target_vocab.bos_id, self.target_vocab.eos_id
        self._targets = np.stack([np.concatenate([[bos], self.target_vocab.encode(iso), [eos]])
                                  for _, iso in self.pairs])  # (N, 12)

    def encode_source(self, text: str) -> np.ndarray:
        """``text`` as a source: int64 ids (source_len,), right-padded with ``<pad>``."""
        ids = self.source_vocab.encode(text)
        if len(ids) > self.source_len:
            raise ValueError(f"Dates: {text!r} has {len(ids)} characters, more than "
                             f"source_len={self.source_len}")
        return np.pad(ids, (0, self.source_len - len(ids)),
                      constant_values=self.source_vocab.pad_id)

    def decode_source(self, ids) -> str:
        """The written date of source ids (padding dropped; ``<unk>`` kept)."""
        ids = np.asarray(ids)
        return self.source_vocab.decode(ids[ids != self.source_vocab.pad_id])

    def decode_target(self, ids) -> str:
        """The ISO date of target (or predicted) ids: up to the first ``<eos>``, specials
        dropped."""
        ids = np.asarray(ids)
        eos = np.flatnonzero(ids == self.target_vocab.eos_id)
        return self.target_vocab.decode(ids[:eos[0]] if len(eos) else ids, skip_specials=True)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int):
        source, target = self._sources[index].copy(), self._targets[index].copy()
        if self.transform is not None:
            source = self.transform(source)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return source, target

    def __repr__(self) -> str:
        split = "train" if self.train else "test"
        return (f"Dates(split={split}, samples={len(self)}, days={len(self.days)}, "
                f"formats={len(FORMATS)}, source_len={self.source_len})")


__all__ = ["Dates", "FORMATS", "CASES", "format_date", "FIRST_DATE", "LAST_DATE"]
