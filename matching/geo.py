"""Great-circle distances and the transport/delivery legs of the format."""

from __future__ import annotations

import math

from matching.problem import Order, Problem

EARTH_RADIUS_KM = 6371.0


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _leg(problem: Problem, km: float) -> tuple[int, int]:
    t = problem.transport
    minutes = int(t.handling_minutes) + math.ceil(round(km / t.speed_kmh * 60, 9))
    cost = int(t.fixed_cost) + round(km * t.cost_per_km)
    return minutes, int(cost)


class Legs:
    """Cached transport legs between plants and from plants to order destinations."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self._pp: dict[tuple[str, str], tuple[int, int]] = {}

    def between(self, a: str, b: str) -> tuple[int, int]:
        """(minutes, cost) to move work from plant a to plant b; 0, 0 inside one plant."""
        if a == b:
            return 0, 0
        key = (a, b) if a < b else (b, a)
        got = self._pp.get(key)
        if got is None:
            pa, pb = self.problem.plants.get(a), self.problem.plants.get(b)
            if pa is None or pb is None or pa.lat is None or pb.lat is None:
                km = 0.0  # plant without coordinates: only handling time and fixed cost
            else:
                km = haversine_km(pa.lat, pa.lon, pb.lat, pb.lon)
            got = _leg(self.problem, km)
            self._pp[key] = got
        return got

    def delivery(self, plant: str, order: Order) -> tuple[int, int]:
        """(minutes, cost) from the last operation's plant to the buyer; 0, 0 without lat/lon."""
        if not order.has_destination:
            return 0, 0
        p = self.problem.plants.get(plant)
        no_coords = p is None or p.lat is None
        km = 0.0 if no_coords else haversine_km(p.lat, p.lon, order.lat, order.lon)
        return _leg(self.problem, km)
