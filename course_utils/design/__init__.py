"""Steps 1-2, design: requirements, capacity, the design diagrams, labels and objectives.

Notebook 01 writes the requirements down (:mod:`.requirements`), turns them into machines,
memory, a latency budget and log volume (:mod:`.capacity`) and draws the funnel, the
architecture and the budget (:mod:`.diagrams`); :mod:`.demand` derives the peak load
from users and the CPU per request from its stages. Notebook 02 frames the problem: what counts
as a positive label and which objective a model optimises (:mod:`.labels`). Only ``labels``
uses another package (the data schema).
"""

from course_utils.design import capacity, demand, diagrams, labels, requirements
from course_utils.design.capacity import *
from course_utils.design.demand import *
from course_utils.design.diagrams import *
from course_utils.design.labels import *
from course_utils.design.requirements import *

__all__ = [
    *requirements.__all__,
    *capacity.__all__,
    *demand.__all__,
    *diagrams.__all__,
    *labels.__all__,
]
