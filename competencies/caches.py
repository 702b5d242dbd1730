"""What the competencies app keeps per process, and the generation that says when it is stale
(see :class:`lms.caches.CacheGeneration`)."""

from lms.caches import CacheGeneration

#: Whether a framework was saved or deleted since this process last checked its graph (see
#: :func:`competencies.graph.settled_graph`).
FRAMEWORKS = CacheGeneration("competencies.frameworks")
