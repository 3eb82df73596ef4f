"""Step 6, deployment: a trained recommender as artifacts, a service and an HTTP endpoint.

Read in this order:

1. :mod:`~course_utils.serving.trees` - the gradient-boosted ranker as plain arrays,
   scored with numpy (no pickle, no scikit-learn at serving time);
2. :mod:`~course_utils.serving.pipeline` - a fitted model exported to the arrays a
   request needs (:func:`export_pipeline`), with :mod:`~course_utils.serving.feature_store`,
   the in-process feature store that computes the ranker's features like training did;
3. :mod:`~course_utils.serving.artifacts` - save and load them with a checksummed
   manifest (:func:`save_artifacts`, :func:`load_artifacts`), checked at load by
   :mod:`~course_utils.serving.manifest` (digest, schema, safe ``.npz`` reading) and
   :mod:`~course_utils.serving.checks` (config and array contents);
4. :mod:`~course_utils.serving.rerank` - MMR diversity re-ranking (:func:`mmr_rerank`);
5. :mod:`~course_utils.serving.service` - :class:`RecommendationService`: cold-start
   routing, retrieval, features, ranking, business rules, per-stage latency;
6. :mod:`~course_utils.serving.http` - the JSON endpoint, FastAPI on uvicorn
   (``POST /recommend``, ``GET /healthz``, ``/readyz``, ``/metrics``), with body-size,
   timeout and concurrency limits; ``python -m course_utils.serving --artifacts DIR
   --port N [--workers N]``.
7. :mod:`~course_utils.serving.index` - retrieval indexes for embedding retrievers at
   catalogue scale: exact (numpy), HNSW and IVF (faiss), attached with :func:`attach_index`.
"""

from course_utils.serving.artifacts import (
    ArtifactError,
    ArtifactIntegrityError,
    Artifacts,
    ArtifactVersionError,
    IncompleteArtifactError,
    load_artifacts,
    save_artifacts,
    training_data_hash,
)
from course_utils.serving.cache import ResultCache, cache_hit_rate, simulate_cache
from course_utils.serving.http import (
    ServerLimits,
    make_app,
    make_http_server,
    serve_in_background,
)
from course_utils.serving.index import ExactIndex, HNSWIndex, IVFIndex, load_index
from course_utils.serving.loadtest import closed_loop_load, load_curve
from course_utils.serving.pipeline import (
    ServingPipeline,
    attach_index,
    export_pipeline,
    retriever_scores,
)
from course_utils.serving.rerank import min_max_scale, mmr_rerank
from course_utils.serving.service import (
    COLD_START_CONTENT,
    COLD_START_POPULARITY,
    PERSONALISED,
    BadRequest,
    RecommendationService,
    route_request,
)
from course_utils.serving.trees import TreeEnsemble

__all__ = [
    "COLD_START_CONTENT",
    "COLD_START_POPULARITY",
    "PERSONALISED",
    "ArtifactError",
    "ArtifactIntegrityError",
    "ArtifactVersionError",
    "Artifacts",
    "BadRequest",
    "ExactIndex",
    "HNSWIndex",
    "IVFIndex",
    "IncompleteArtifactError",
    "RecommendationService",
    "ResultCache",
    "ServerLimits",
    "ServingPipeline",
    "TreeEnsemble",
    "attach_index",
    "closed_loop_load",
    "export_pipeline",
    "load_artifacts",
    "load_curve",
    "load_index",
    "make_app",
    "make_http_server",
    "min_max_scale",
    "mmr_rerank",
    "retriever_scores",
    "route_request",
    "save_artifacts",
    "cache_hit_rate",
    "simulate_cache",
    "serve_in_background",
    "training_data_hash",
]
