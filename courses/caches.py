"""What the courses app keeps per process (see :class:`lms.caches.CacheGeneration`)."""

from lms.caches import CacheGeneration

#: What the progress path reads of the course structure: live modules and courses, required
#: modules, sections' institutions, competency mappings (see ``courses.selectors``). Changed
#: by the receivers in :mod:`courses.signals`.
STRUCTURE = CacheGeneration("courses.structure")
