"""``import labelport.types as lb_types``: the Labelbox-style Python annotation types.

They live in ``labelport.formats.labelbox.types``; this module keeps the import line of the Labelbox guides
working (``import labelbox.types as lb_types`` becomes ``import labelport.types as lb_types``).
"""

from labelport.formats.labelbox.types import *  # noqa: F403
from labelport.formats.labelbox.types import __all__ as __all__
