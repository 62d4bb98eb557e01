from collections import Counter

from paretext._ids import ExampleId
from paretext.engine import EpochSampler


def test_each_epoch_covers_every_example_once() -> None:
    ids = [ExampleId(f"e{i}") for i in range(9)]
    sampler = EpochSampler(ids, 3, seed=1)
    seen = Counter(ex for k in range(3) for ex in sampler.batch(k))
    assert set(seen) == set(ids) and set(seen.values()) == {1}


def test_batches_are_a_pure_function_of_seed_and_index() -> None:
    ids = [ExampleId(f"e{i}") for i in range(10)]
    a, b = EpochSampler(ids, 3, seed=5), EpochSampler(ids, 3, seed=5)
    assert [a.batch(k) for k in (7, 2, 0)] == [b.batch(k) for k in (7, 2, 0)]
    assert EpochSampler(ids, 3, seed=6).batch(0) != a.batch(0) or EpochSampler(
        ids, 3, seed=6
    ).batch(1) != a.batch(1)


def test_batches_never_repeat_an_example_and_shrink_to_the_data() -> None:
    ids = [ExampleId(f"e{i}") for i in range(4)]
    sampler = EpochSampler(ids, 3, seed=0)
    for k in range(20):
        batch = sampler.batch(k)
        assert len(set(batch)) == 3
    assert EpochSampler(ids[:2], 3, seed=0).size == 2
