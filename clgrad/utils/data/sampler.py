"""Samplers: the order in which a DataLoader reads a map-style dataset, as torch.utils.data.

Randomness comes from clgrad Generators. A permutation is drawn by `randperm`: one int64 seed
is drawn from the generator on the device (Philox, so the same on every device), and NumPy's
PCG64 seeded with it shuffles range(n) on the host. Same generator state -> same order; the
generator advances by one draw per permutation, so successive epochs differ.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence, Sized

import numpy as np

import clgrad


def _seed_from(generator) -> int:
    """One seed in [0, 2**63 - 1) drawn from `generator` (the default generator if None)."""
    return clgrad.randint(0, 2**63 - 1, (), generator=generator).item()


def randperm(n: int, generator=None) -> list[int]:
    """A random permutation of range(n) as a list, reproducible from `generator`'s state."""
    return np.random.Generator(np.random.PCG64(_seed_from(generator))).permutation(n).tolist()


class Sampler:
    """Base class: a sampler iterates over dataset indices (or batches of indices)."""

    def __init__(self, data_source=None) -> None:
        pass

    def __iter__(self) -> Iterator:
        raise NotImplementedError("Subclasses of Sampler should implement __iter__.")


class SequentialSampler(Sampler):
    """Indices 0, 1, ..., len(data_source) - 1, always in that order."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """Shuffled indices, or `num_samples` indices drawn with replacement.

    Without a generator each iteration seeds itself from clgrad's default generator, so
    `clgrad.manual_seed` makes the order reproducible, as torch.manual_seed does for torch.
    """

    def __init__(self, data_source: Sized, replacement: bool = False,
                 num_samples: int | None = None, generator=None) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got "
                            f"replacement={self.replacement}")
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n = len(self.data_source)
        generator = self.generator
        if generator is None:
            generator = clgrad.Generator().manual_seed(_seed_from(None))
        if self.replacement:
            for _ in range(self.num_samples // 32):
                yield from clgrad.randint(n, (32,), generator=generator).tolist()
            if self.num_samples % 32:
                yield from clgrad.randint(n, (self.num_samples % 32,),
                                          generator=generator).tolist()
        else:
            for _ in range(self.num_samples // n):
                yield from randperm(n, generator)
            if self.num_samples % n:
                yield from randperm(n, generator)[:self.num_samples % n]

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices, in a random order (no replacement)."""

    def __init__(self, indices: Sequence[int], generator=None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        for i in randperm(len(self.indices), self.generator):
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class BatchSampler(Sampler):
    """Groups the indices of `sampler` into lists of `batch_size` (the last may be short)."""

    def __init__(self, sampler: Sampler | Iterable[int], batch_size: int,
                 drop_last: bool) -> None:
        if (not isinstance(batch_size, int) or isinstance(batch_size, bool)
                or batch_size <= 0):
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            msg = f"drop_last should be a boolean value, but got drop_last={drop_last}"
            raise ValueError(msg)  # noqa: TRY004 (PyTorch's type)
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        indices = iter(self.sampler)
        batch = list(itertools.islice(indices, self.batch_size))
        while batch and (len(batch) == self.batch_size or not self.drop_last):
            yield batch
            batch = list(itertools.islice(indices, self.batch_size))

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size
