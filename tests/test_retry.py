"""The one back-off policy shared by step 4, the reconciliation by tag and the terminal link."""

from __future__ import annotations

from app.domain.retry import RetryPolicy


def test_delays_double_from_the_first_and_stop_at_the_cap() -> None:
    policy = RetryPolicy(1.0, 2.0, max_delay_s=60.0)
    assert [policy.delay(n) for n in (1, 2, 3, 7, 8)] == [1.0, 2.0, 4.0, 60.0, 60.0]


def test_a_bounded_policy_gives_up_after_its_retries() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert not policy.exhausted(3) and policy.exhausted(4)
    assert not RetryPolicy().exhausted(10_000)  # unbounded: the link supervisor never gives up
