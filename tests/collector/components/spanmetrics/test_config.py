from __future__ import annotations

import pytest

from flightdeck.collector.components.spanmetrics import FACTORY, load_config, validate
from flightdeck.collector.components.spanmetrics.config import Config
from flightdeck.collector.errors import ConfigError


def test_defaults() -> None:
    cfg = FACTORY.load_config(None)
    assert isinstance(cfg, Config)
    assert cfg.namespace == "traces.span.metrics"
    assert cfg.histogram.unit == "ms"
    assert cfg.metrics_flush_interval == 60_000_000_000
    assert cfg.metrics_expiration == 0
    assert cfg.resource_metrics_cache_size == 1000
    assert cfg.exemplars.max_per_data_point == 5
    assert not cfg.is_delta
    assert cfg.delta_timestamp_cache_size == 1000
    assert cfg.explicit_bounds == (
        2,
        4,
        6,
        8,
        10,
        50,
        100,
        200,
        400,
        800,
        1000,
        1400,
        2000,
        5000,
        10000,
        15000,
    )
    assert validate(cfg) == []


def test_seconds_unit_divides_default_buckets() -> None:
    cfg = load_config({"histogram": {"unit": "S"}})
    assert cfg.histogram.unit == "s"
    assert cfg.explicit_bounds[0] == 0.002 and cfg.explicit_bounds[-1] == 15


def test_explicit_buckets_are_durations_in_the_unit() -> None:
    cfg = load_config({"histogram": {"explicit": {"buckets": ["100us", "1ms", "1s"]}}})
    assert cfg.explicit_bounds == (0.1, 1.0, 1000.0)
    assert load_config({"histogram": {"explicit": None}}).explicit_bounds[0] == 2
    assert load_config({"histogram": {"explicit": {"buckets": []}}}).explicit_bounds == ()


def test_unknown_unit_is_a_decoding_error() -> None:
    with pytest.raises(ConfigError) as err:
        load_config({"histogram": {"unit": "h"}})
    assert 'unknown Unit "h", allowed units are "ms" and "s"' in str(err.value)


def test_unknown_key_is_a_decoding_error() -> None:
    with pytest.raises(ConfigError) as err:
        load_config({"dimension": []})
    assert "'' has invalid keys: dimension" in str(err.value)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"dimensions": [{"name": "service.name"}]},
            "failed validating dimensions: duplicate dimension name service.name",
        ),
        (
            {"dimensions": [{"name": "a"}, {"name": "a"}]},
            "failed validating dimensions: duplicate dimension name a",
        ),
        (
            {"events": {"enabled": True}},
            "failed validating event dimensions: no dimensions configured for events",
        ),
        (
            {"events": {"enabled": True, "dimensions": [{"name": "span.kind"}]}},
            "failed validating event dimensions: duplicate dimension name span.kind",
        ),
        (
            {"histogram": {"explicit": {}, "exponential": {}}},
            "use either `explicit` or `exponential` buckets histogram",
        ),
        (
            {"metrics_flush_interval": "-20s"},
            "invalid metrics_flush_interval: -20s, the duration should be positive",
        ),
        (
            {"metrics_expiration": "-1m30s"},
            "invalid metrics_expiration: -1m30s, the duration should be positive",
        ),
        (
            {"aggregation_temporality": "AGGREGATION_TEMPORALITY_DELTA", "metric_timestamp_cache_size": 0},
            "invalid delta timestamp cache size: 0, the maximum number of the items in the cache should be positive",
        ),
        (
            {"aggregation_cardinality_limit": -1},
            "invalid aggregation_cardinality_limit: -1, the limit should be positive",
        ),
    ],
)
def test_validation_texts(raw: dict[str, object], message: str) -> None:
    assert validate(load_config(raw)) == [message]


def test_calls_and_histogram_dimensions_are_not_validated_like_upstream() -> None:
    cfg = load_config(
        {"calls_dimensions": [{"name": "service.name"}], "histogram": {"dimensions": [{"name": "x"}]}}
    )
    assert validate(cfg) == []


def test_anything_but_delta_is_cumulative() -> None:
    assert not load_config({"aggregation_temporality": "delta"}).is_delta
    assert load_config({"aggregation_temporality": "AGGREGATION_TEMPORALITY_DELTA"}).is_delta


def test_exponential_max_size_like_go_expohisto() -> None:
    assert load_config({"histogram": {"exponential": {}}}).exponential_max_size == 160
    assert load_config({"histogram": {"exponential": {"max_size": 1}}}).exponential_max_size == 2
    assert load_config({"histogram": {"exponential": {"max_size": 100000}}}).exponential_max_size == 16384


def test_seed_connector_config() -> None:
    cfg = load_config(
        {
            "dimensions": [
                {"name": "hotrod.namespace"},
                {"name": "hotrod.pod.name"},
                {"name": "hotrod.pod.hash"},
            ]
        }
    )
    assert [d.name for d in cfg.dimensions] == ["hotrod.namespace", "hotrod.pod.name", "hotrod.pod.hash"]
    assert validate(cfg) == []
