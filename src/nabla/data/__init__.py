"""Data pipelines: datasets, samplers, ``DataLoader``, transforms and bundled datasets.

``nabla.utils.data`` is this module, so ``torch.utils.data`` imports port.
"""
from . import datasets, transforms
from ._worker import WorkerInfo, get_worker_info
from .collate import default_collate, default_convert
from .dataloader import DataLoader
from .dataset import (ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset, Subset,
                      TensorDataset, random_split)
from .sampler import (BatchSampler, DistributedSampler, RandomSampler, Sampler, SequentialSampler,
                      SubsetRandomSampler, WeightedRandomSampler)
from .text import (CharLMDataset, CharVocab, StdlibText, TextCorpus, read_text, stdlib_corpus,
                   unigram_entropy_bits)

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset",
           "ChainDataset", "StackDataset", "random_split", "default_collate", "default_convert",
           "DataLoader", "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler", "DistributedSampler", "get_worker_info",
           "WorkerInfo",
           "datasets", "transforms", "read_text", "CharVocab", "TextCorpus", "stdlib_corpus",
           "unigram_entropy_bits", "CharLMDataset", "StdlibText"]
