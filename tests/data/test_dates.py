"""Generated dates: every format parses back to its date, splits are disjoint by
calendar day, generation is deterministic, items and decoding."""
import calendar
import datetime
import re

import numpy as np
import pytest

import nabla as nb
from nabla.data import DataLoader, datasets
from nabla.data.datasets.dates import CASES, FIRST_DATE, FORMATS, LAST_DATE, Dates, format_date

# each format as a strptime pattern, applied after ordinal suffixes are removed; written
# independently of the writers so that a wrong writer fails here
STRPTIME = {
    "D Month YYYY": "%d %B %Y", "D Mon YYYY": "%d %b %Y", "DD Mon YY": "%d %b %y",
    "Month D, YYYY": "%B %d, %Y", "Mon D, YYYY": "%b %d, %Y", "Mon Dth, YY": "%b %d, %y",
    "Month Dth, YYYY": "%B %d, %Y", "Dth of Month YYYY": "%d of %B %Y",
    "Weekday, Month D, YYYY": "%A, %B %d, %Y", "Wkd, D Mon YYYY": "%a, %d %b %Y",
    "Weekday D Month YYYY": "%A %d %B %Y", "MM/DD/YYYY": "%m/%d/%Y", "M/D/YY": "%m/%d/%y",
    "YYYY/MM/DD": "%Y/%m/%d", "YYYY.MM.DD": "%Y.%m.%d", "D.M.YY": "%d.%m.%y",
    "DD.MM.YYYY": "%d.%m.%Y", "DD-Mon-YYYY": "%d-%b-%Y", "YYYY-MM-DD": "%Y-%m-%d",
    "YYYYMMDD": "%Y%m%d",
}


def parse(text: str, fmt: str) -> datetime.date:
    """Read a written date back (the C locale's English names; 2-digit years pivot at 50)."""
    plain = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text, flags=re.IGNORECASE)
    parsed = datetime.datetime.strptime(plain, STRPTIME[fmt]).date()
    if "%y" in STRPTIME[fmt] and parsed.year >= 2050:  # strptime puts 50-68 in 2050-2068
        parsed = parsed.replace(year=parsed.year - 100)
    if "%A" in STRPTIME[fmt] or "%a" in STRPTIME[fmt]:  # strptime ignores the weekday
        weekday = text.split(",")[0].split(" ")[0].lower()
        assert calendar.day_name[parsed.weekday()].lower().startswith(weekday)
    return parsed


def test_every_format_and_case_parses_back():
    assert set(STRPTIME) == set(FORMATS)
    rng = np.random.default_rng(0)
    span = (LAST_DATE - FIRST_DATE).days
    days = [FIRST_DATE, LAST_DATE, datetime.date(1999, 3, 3), datetime.date(2000, 2, 29),
            datetime.date(2011, 12, 13), datetime.date(1972, 1, 22)]
    days += [FIRST_DATE + datetime.timedelta(days=int(k)) for k in rng.integers(span, size=200)]
    for day in days:
        for fmt in FORMATS:
            for case in CASES:
                text = format_date(day, fmt, case)
                assert parse(text, fmt) == day, (text, fmt, case)


def test_examples_and_two_digit_years():
    d = datetime.date(1999, 3, 3)
    assert format_date(d, "D Month YYYY", "lower") == "3 march 1999"
    assert format_date(d, "Mon Dth, YY") == "Mar 3rd, 99"
    assert format_date(d, "Weekday, Month D, YYYY") == "Wednesday, March 3, 1999"
    assert format_date(d, "D.M.YY") == "3.3.99"
    assert format_date(datetime.date(2049, 11, 12), "Dth of Month YYYY", "upper") == \
        "12TH OF NOVEMBER 2049"
    assert format_date(datetime.date(2003, 1, 21), "M/D/YY") == "1/21/03"
    assert [format_date(datetime.date(2000, 1, d), "Mon Dth, YY") for d in (1, 2, 11, 22)] == \
        ["Jan 1st, 00", "Jan 2nd, 00", "Jan 11th, 00", "Jan 22nd, 00"]
    with pytest.raises(ValueError, match="unknown format 'YY-MM'"):
        format_date(d, "YY-MM")


def test_no_written_date_stands_for_two_dates():
    seen = {}
    day = datetime.date(1995, 1, 1)
    while day < datetime.date(2006, 1, 1):  # every day/month pairing, both centuries
        for fmt in FORMATS:
            text = format_date(day, fmt, "lower")
            assert seen.setdefault(text, day) == day, text
        day += datetime.timedelta(days=1)


def test_train_and_test_disjoint_by_calendar_day():
    train, test = Dates(2000), Dates(500, train=False)
    assert len(train) == 2000 and len(test) == 500
    assert not set(train.days) & set(test.days)
    assert len(train.days) + len(test.days) == (LAST_DATE - FIRST_DATE).days + 1
    assert len(test.days) == round(0.2 * len(train.days + test.days))
    train_iso = {iso for _, iso in train.pairs}
    assert not train_iso & {iso for _, iso in test.pairs}
    assert all(FIRST_DATE.isoformat() <= iso <= LAST_DATE.isoformat() for iso in train_iso)


def test_deterministic_and_seeded():
    a, b = Dates(500, seed=3), Dates(500, seed=3)
    assert a.pairs == b.pairs
    np.testing.assert_array_equal(a[7][0], b[7][0])
    assert Dates(500, seed=4).pairs != a.pairs
    # the split of days depends on the seed, never on n_samples
    assert Dates(100, seed=3, train=False).days == Dates(500, seed=3, train=False).days


def test_items_vocabularies_and_decoding():
    ds = Dates(300, train=False)
    x, y = ds[0]
    assert x.dtype == y.dtype == np.int64 and x.shape == (32,) and y.shape == (12,)
    text, iso = ds.pairs[0]
    assert ds.decode_source(x) == text and ds.decode_target(y) == iso
    assert (x[len(text):] == 0).all() and ds.source_vocab.pad_id == 0
    tv = ds.target_vocab
    assert (tv.pad_id, tv.bos_id, tv.eos_id) == (0, 1, 2) == (tv["<pad>"], tv["<bos>"],
                                                              tv["<eos>"])
    assert y[0] == tv.bos_id and y[-1] == tv.eos_id
    assert all(ds.decode_target(ds[i][1]) == iso for i, (_, iso) in enumerate(ds.pairs))
    # a prediction is read up to its first <eos>
    pred = np.concatenate([tv.encode("2001-02-03"), [tv.eos_id], tv.encode("99")])
    assert ds.decode_target(pred) == "2001-02-03"
    # any user string encodes; unseen characters become <unk>
    assert ds.decode_source(ds.encode_source("3 mars 1999!")) == "3 mars 1999<unk>"
    with pytest.raises(ValueError, match="more than source_len=32"):
        ds.encode_source("x" * 33)
    xb, yb = next(iter(DataLoader(ds, batch_size=8)))
    assert xb.shape == (8, 32) and yb.shape == (8, 12) and yb.dtype == nb.int64
    # the three letter cases all occur
    worded = [t for t, _ in Dates(2000).pairs if any(c.isalpha() for c in t)]
    assert sum(t.isupper() for t in worded) > 100 and sum(t.islower() for t in worded) > 100
    assert sum(not t.isupper() and not t.islower() for t in worded) > 100


def test_errors_and_registry():
    with pytest.raises(ValueError, match="Dates: n_samples should be a positive integer"):
        Dates(0)
    with pytest.raises(ValueError, match=r"Dates: test_fraction should be in \(0, 1\)"):
        Dates(10, test_fraction=1.0)
    entry = datasets.available()["dates"]
    assert entry.cls is Dates and "generated" in entry.description
    assert len(datasets.get("dates", n_samples=50, train=False)) == 50
