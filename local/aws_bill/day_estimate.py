"""Each day's AWS bill estimate for a local run of the DAG (``make demo``).

While a day runs, the endpoint's call log records what the pipeline's principals call; after
it, the run's own figures are read back for the same time window, turned into billable units
and priced. The time spent estimating is kept, so the demo can say what it costs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from local.aws_bill.collect import CachedClients, Clients, collect
from local.aws_bill.prices import PriceTable, price_table
from local.aws_bill.pricing import by_service, cost_lines, format_day
from local.aws_bill.units import Units, billable_units
from local.aws_local import EndpointClients


@dataclass
class DayEstimates:
    aws: Clients  # the endpoint's ``EndpointClients``, or any ``client(service)`` provider
    call_log: Any  # the endpoint's ``CallLog`` (its ``counting()`` yields the calls made)
    prices: PriceTable = field(default_factory=price_table)
    units: dict[str, Units] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0  # spent estimating after the days' runs
    prepare_seconds: float = 0.0  # spent making clients (``prepare``)

    def __post_init__(self) -> None:
        if isinstance(self.aws, EndpointClients):
            self._clients = CachedClients.of_endpoint(self.aws)
        else:
            self._clients = CachedClients(self.aws)

    def prepare(self) -> None:
        """Make the clients and load their models now, e.g. while something else is awaited:
        a first collect costs about a second more than the next ones."""
        started = time.monotonic()
        now = datetime.now(UTC)
        collect(self._clients, now, now)  # an empty window: loads models, opens connections
        self.prepare_seconds += time.monotonic() - started

    @contextmanager
    def recording(self, day: str) -> Iterator[None]:
        """Record the calls made in the block, then estimate ``day`` from them."""
        since = datetime.now(UTC)
        with self.call_log.counting() as calls:
            yield
        started = time.monotonic()
        try:
            figures = collect(self._clients, since, datetime.now(UTC), calls)
            self.units[day] = billable_units(figures, self.prices)
        except (ValueError, KeyError) as problem:  # a figure missing or not AWS's shape
            self.errors[day] = f"{type(problem).__name__}: {problem}"
        self.seconds += time.monotonic() - started

    def format(self, day: str) -> str:
        if day in self.errors:
            return f"            AWS bill estimate unavailable: {self.errors[day]}"
        return format_day(self.units[day], self.prices)

    def summary(self) -> str:
        total = sum(
            sum(by_service(cost_lines(units, self.prices)).values())
            for units in self.units.values()
        )
        return (
            f"AWS bill estimate for {len(self.units)} day(s): ${total:.4f} at "
            f"{self.prices.region} list prices (estimating took {self.seconds:.2f}s after the "
            f"runs, {self.prepare_seconds:.2f}s before; benchmarks/cost_model.py models a month)"
        )
