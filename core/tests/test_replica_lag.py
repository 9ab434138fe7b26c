"""The replica lag bound (core.replicas._lag): the smaller of two upper bounds, none without either."""

from core.replicas import _lag


def test_caught_up_is_zero_behind():
    assert _lag(500, 500, now=100.0, samples=[], since_commit=None) == 0.0
    assert _lag(600, 500, now=100.0, samples=[], since_commit=3600.0) == 0.0


def test_behind_counts_from_the_newest_sample_it_replayed():
    samples = [(90.0, 100), (95.0, 200), (99.0, 300)]
    assert _lag(250, 400, now=100.0, samples=samples, since_commit=None) == 5.0
    # An idle primary's last commit is old, but the replica held the primary's state 5 s ago.
    assert _lag(250, 400, now=100.0, samples=samples, since_commit=600.0) == 5.0


def test_behind_counts_from_its_last_replayed_commit_when_that_is_closer():
    assert _lag(250, 400, now=100.0, samples=[(10.0, 100)], since_commit=2.0) == 2.0
    assert _lag(50, 400, now=100.0, samples=[(10.0, 100)], since_commit=7.0) == 7.0


def test_no_bound_is_unknown():
    assert _lag(50, 400, now=100.0, samples=[(99.0, 100)], since_commit=None) is None
