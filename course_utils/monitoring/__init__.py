"""Step 7, monitoring: request logs, summaries, drift tests, alerts, freshness, incidents.

A recommender rarely fails loudly. :mod:`.request_log` is the structured log a serving
process appends to; :mod:`.summaries` turns it into per-window numbers; :mod:`.drift` holds
PSI, KS and chi-squared tests; :mod:`.exposure` compares what is served with what is
watched; :mod:`.alerts` turns summaries into alerts and :mod:`.slo` turns raw latencies
into burn-rate pages; :mod:`.staleness` tells model age from data age; :mod:`.changes`
dates a change. The incident simulations of notebook 07 are :mod:`.decay` (a frozen model
ages), :mod:`.traffic` (traffic replayed through a service) and :mod:`.incidents` (drift,
latency faults, A/A thresholds).
"""

from course_utils.monitoring import (
    alerts,
    changes,
    decay,
    drift,
    exposure,
    incidents,
    request_log,
    slo,
    staleness,
    summaries,
    traffic,
)
from course_utils.monitoring.alerts import *
from course_utils.monitoring.changes import *
from course_utils.monitoring.decay import *
from course_utils.monitoring.drift import *
from course_utils.monitoring.exposure import *
from course_utils.monitoring.incidents import *
from course_utils.monitoring.request_log import *
from course_utils.monitoring.slo import *
from course_utils.monitoring.staleness import *
from course_utils.monitoring.summaries import *
from course_utils.monitoring.traffic import *

__all__ = [
    *request_log.__all__,
    *summaries.__all__,
    *drift.__all__,
    *exposure.__all__,
    *alerts.__all__,
    *slo.__all__,
    *staleness.__all__,
    *changes.__all__,
    *decay.__all__,
    *traffic.__all__,
    *incidents.__all__,
]
