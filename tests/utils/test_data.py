"""clgrad.utils.data against torch.utils.data: batches, collation, samplers, splits, errors.

Most tests take `lib` and run the same snippet with lib = clgrad and lib = torch; `plain`
turns a result into Python values (a tensor becomes its dtype name, shape and values) so the
two can be compared. Shuffles cannot match PyTorch's numbers, so they are checked for being
permutations that a seed reproduces.
"""
from __future__ import annotations

import collections
import warnings

import numpy as np
import pytest

import clgrad

pytest.importorskip("torch")
import torch.utils.data

Point = collections.namedtuple("Point", "x y")


def plain(value):
    """A tensor -> (dtype, shape, values); containers recursively; everything else as is."""
    if isinstance(value, (clgrad.Tensor, torch.Tensor)):
        return ("tensor", str(value.dtype).split(".")[-1], tuple(value.shape), value.tolist())
    if isinstance(value, dict):
        return {key: plain(v) for key, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(plain(v) for v in value))
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    return value


def same(fn):
    """Run fn(lib) for clgrad and torch and assert the results agree."""
    got, want = plain(fn(clgrad)), plain(fn(torch))
    assert got == want


def raises_same(fn):
    """fn(lib) raises the same exception type with the same message in clgrad and torch."""
    with pytest.raises(Exception) as want:      # the type is what we compare
        fn(torch)
    with pytest.raises(want.type) as got:
        fn(clgrad)
    assert str(got.value) == str(want.value)


def tensors(lib, n=10):
    x = lib.arange(n * 3, dtype=lib.float32).reshape(n, 3)
    return x, lib.arange(n) * 2


class Squares:
    """A map-style dataset that is not a Dataset subclass: (int, float) samples."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return i, i * 0.5


class Stream(torch.utils.data.IterableDataset, clgrad.utils.data.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


# --- batches -------------------------------------------------------------------------------


@pytest.mark.parametrize(("batch_size", "drop_last"), [(1, False), (3, False), (3, True),
                                                        (5, True), (10, False), (16, False),
                                                        (16, True)])
def test_tensor_dataset_batches(batch_size, drop_last):
    def run(lib):
        data = lib.utils.data
        loader = data.DataLoader(data.TensorDataset(*tensors(lib)), batch_size=batch_size,
                                 drop_last=drop_last)
        return len(loader), list(loader)
    same(run)


def test_batch_size_none_yields_converted_samples():
    def run(lib):
        data = lib.utils.data
        loader = data.DataLoader([np.arange(3), (np.float32(2), 1), {"a": np.ones(2)}],
                                 batch_size=None)
        return len(loader), list(loader)
    same(run)


def test_plain_sequence_and_custom_dataset():
    def run(lib):
        data = lib.utils.data
        return (list(data.DataLoader(Squares(7), batch_size=3)),
                list(data.DataLoader(list(range(5)), batch_size=2)))
    same(run)


def test_iterable_dataset():
    def run(lib):
        data = lib.utils.data
        return [(len(loader), list(loader)) for loader in (
            data.DataLoader(Stream(7), batch_size=3),
            data.DataLoader(Stream(7), batch_size=3, drop_last=True),
            data.DataLoader(Stream(3), batch_size=None))]
    same(run)


def test_custom_collate_fn_and_batch_sampler():
    def run(lib):
        data = lib.utils.data
        dataset = data.TensorDataset(*tensors(lib))
        by_hand = data.DataLoader(dataset, batch_sampler=[[3, -1], [0, 9, 4], [2]])
        as_list = data.DataLoader(dataset, batch_size=4, collate_fn=lambda batch: len(batch))
        return list(by_hand), len(by_hand), list(as_list)
    same(run)


def test_sampler_argument():
    def run(lib):
        data = lib.utils.data
        dataset = data.TensorDataset(*tensors(lib))
        loader = data.DataLoader(dataset, batch_size=2, sampler=[9, 0, 8, 1, 7])
        return list(loader), len(loader)
    same(run)


# --- collation -------------------------------------------------------------------------


@pytest.mark.parametrize("batch", [
    [1, 2, 3],
    [1.5, 2.0],
    [True, False],
    ["a", "b"],
    [(1, 2.5), (3, 4.5)],
    [[1, "x"], [2, "y"]],
    [{"a": 1, "b": [1.0, 2.0]}, {"a": 2, "b": [3.0, 4.0]}],
    [Point(1, 2.0), Point(3, 4.0)],
    [np.arange(3, dtype=np.float32), np.arange(3, dtype=np.float32) + 1],
    [np.float32(1.5), np.float32(2.5)],
    [np.int16(1), np.int16(2)],
    [(np.arange(2), {"k": (1, 2.0)}), (np.arange(2) + 5, {"k": (3, 4.0)})],
], ids=["int", "float", "bool", "str", "tuple", "list", "dict", "namedtuple", "ndarray",
        "np-float32", "np-int16", "nested"])
def test_default_collate(batch):
    same(lambda lib: lib.utils.data.default_collate(batch))


def test_default_collate_stacks_tensors():
    def run(lib):
        x = lib.arange(12, dtype=lib.float64).reshape(4, 3)
        return lib.utils.data.default_collate([x[0], x[2], x[3]])
    same(run)


def test_default_convert():
    same(lambda lib: lib.utils.data.default_convert(
        {"a": np.arange(2), "b": (np.float64(1), "s"), "c": [np.ones(1), 3]}))


def test_collate_errors():
    raises_same(lambda lib: lib.utils.data.default_collate([[1, 2], [1]]))
    raises_same(lambda lib: lib.utils.data.default_collate([object(), object()]))
    raises_same(lambda lib: lib.utils.data.default_collate([np.array(["a"]), np.array(["b"])]))


# --- samplers ---------------------------------------------------------------------------


def test_samplers_match_torch():
    def run(lib):
        data = lib.utils.data
        seq = data.SequentialSampler(range(7))
        return (list(seq), len(seq),
                [(list(b), len(b)) for b in (data.BatchSampler(seq, 3, False),
                                             data.BatchSampler(seq, 3, True),
                                             data.BatchSampler(range(6), 2, True))])
    same(run)


def test_random_sampler_lengths():
    def run(lib):
        data = lib.utils.data
        results = []
        for kwargs in ({}, {"num_samples": 4}, {"num_samples": 23},
                       {"replacement": True}, {"replacement": True, "num_samples": 70}):
            sampler = data.RandomSampler(range(10), **kwargs)
            drawn = list(sampler)
            results.append((len(sampler), len(drawn), all(0 <= i < 10 for i in drawn)))
        return results
    same(run)


def test_random_sampler_without_replacement_is_a_permutation():
    drawn = list(clgrad.utils.data.RandomSampler(range(50), num_samples=120))
    assert sorted(drawn[:50]) == sorted(drawn[50:100]) == list(range(50))
    assert len(set(drawn[100:])) == 20


def order(seed, n=40, epochs=1, **kwargs):
    data = clgrad.utils.data
    generator = None if seed is None else clgrad.Generator().manual_seed(seed)
    loader = data.DataLoader(data.TensorDataset(clgrad.arange(n)), batch_size=7,
                             shuffle=True, generator=generator, **kwargs)
    return [[i for (batch,) in loader for i in batch.tolist()] for _ in range(epochs)]


def test_shuffle_is_reproducible_from_a_seed():
    first = order(3, epochs=2)
    assert first == order(3, epochs=2)
    assert first[0] != order(4)[0]
    assert first[0] != first[1]          # the generator advances from epoch to epoch
    assert sorted(first[0]) == sorted(first[1]) == list(range(40))


def test_shuffle_without_generator_follows_manual_seed():
    clgrad.manual_seed(11)
    first = order(None)
    clgrad.manual_seed(11)
    assert order(None) == first
    clgrad.manual_seed(12)
    assert order(None) != first


def test_shuffle_drop_last():
    (epoch,) = order(5, n=40, drop_last=True)
    assert len(epoch) == 35 and len(set(epoch)) == 35


def test_subset_random_sampler():
    data = clgrad.utils.data
    picks = [3, 8, 15, 21]
    first = list(data.SubsetRandomSampler(picks, clgrad.Generator().manual_seed(1)))
    assert sorted(first) == picks
    assert first == list(data.SubsetRandomSampler(picks, clgrad.Generator().manual_seed(1)))


def test_replacement_draws_are_reproducible():
    def draw(seed):
        generator = clgrad.Generator().manual_seed(seed)
        return list(clgrad.utils.data.RandomSampler(range(5), True, 40, generator))
    assert draw(2) == draw(2) != draw(3)


# --- datasets and splits -------------------------------------------------------------------


def test_concat_and_subset():
    def run(lib):
        data = lib.utils.data
        a, b = data.TensorDataset(*tensors(lib, 4)), data.TensorDataset(*tensors(lib, 3))
        both = a + b
        sub = data.Subset(both, [6, 0, 4])
        return (len(both), both[5], both[-1], both.cumulative_sizes, len(sub), sub[0],
                list(data.DataLoader(sub, batch_size=2)))
    same(run)


@pytest.mark.parametrize("lengths", [[3, 7], [0.3, 0.3, 0.4], [0.5, 0.5], [0.34, 0.33, 0.33],
                                     [1.0], [10, 0]])
def test_random_split_lengths(lengths):
    def run(lib):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            parts = lib.utils.data.random_split(range(10), lengths)
        return [len(p) for p in parts], [str(w.message) for w in caught]
    same(run)


def test_random_split_is_a_reproducible_partition():
    def split(seed):
        parts = clgrad.utils.data.random_split(
            range(20), [0.5, 0.25, 0.25], generator=clgrad.Generator().manual_seed(seed))
        return [list(p) for p in parts]
    first = split(7)
    assert sorted(i for part in first for i in part) == list(range(20))
    assert split(7) == first != split(8)


def test_tensor_dataset_samples():
    same(lambda lib: lib.utils.data.TensorDataset(*tensors(lib))[4])


def test_namespace():
    assert clgrad.utils.data.DataLoader is clgrad.utils.data.dataloader.DataLoader
    assert clgrad.utils.data.get_worker_info() is None


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs", [
    {"batch_size": 0}, {"batch_size": -2}, {"batch_size": 2.5}, {"batch_size": True},
    {"drop_last": "yes"}, {"shuffle": True, "sampler": [0, 1]},
    {"batch_sampler": [[0]], "batch_size": 2}, {"batch_sampler": [[0]], "drop_last": True},
    {"batch_sampler": [[0]], "shuffle": True}, {"batch_size": None, "drop_last": True},
    {"num_workers": -1}, {"timeout": -1}, {"prefetch_factor": 2},
    {"persistent_workers": True},
], ids=lambda kwargs: ",".join(kwargs))
def test_dataloader_argument_errors(kwargs):
    raises_same(lambda lib: lib.utils.data.DataLoader(list(range(4)), **kwargs))


def test_iterable_dataset_argument_errors():
    for kwargs in ({"shuffle": True}, {"sampler": [0]}, {"batch_sampler": [[0]]}):
        raises_same(lambda lib, kwargs=kwargs: lib.utils.data.DataLoader(Stream(3), **kwargs))


def test_dataset_errors():
    def mismatch(lib):
        lib.utils.data.TensorDataset(lib.zeros(3), lib.zeros(4))
    raises_same(mismatch)
    raises_same(lambda lib: lib.utils.data.Dataset()[0])
    raises_same(lambda lib: lib.utils.data.ConcatDataset([]))
    raises_same(lambda lib: lib.utils.data.ConcatDataset([range(3)])[-4])
    raises_same(lambda lib: lib.utils.data.random_split(range(10), [3, 4]))
    raises_same(lambda lib: lib.utils.data.random_split(range(10), [1.5, -0.5]))


def test_sampler_errors():
    raises_same(lambda lib: lib.utils.data.RandomSampler(range(3), replacement=1))
    raises_same(lambda lib: lib.utils.data.RandomSampler(range(3), num_samples=0))
    raises_same(lambda lib: lib.utils.data.BatchSampler(range(3), 0, False))


def test_attributes_are_frozen_after_init():
    def run(lib):
        lib.utils.data.DataLoader([1, 2]).batch_size = 4
    raises_same(run)


def test_num_workers_is_not_implemented():
    with pytest.raises(NotImplementedError, match=r"num_workers=2.*num_workers=0"):
        clgrad.utils.data.DataLoader(list(range(4)), num_workers=2)
