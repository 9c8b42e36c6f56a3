"""RedBrick AI wire names: the items list (``InputTask``) and ``tasks.json`` (``OutputTask``) of redbrick-sdk.

Nothing outside ``formats/redbrick`` names these (a test checks it). Reference: notes/redbrick.md sections 1
and 3, redbrick-sdk ``redbrick/types/task.py`` and ``redbrick/utils/rb_label_utils.py``.
"""

# --- task --------------------------------------------------------------------------------------------
NAME = "name"
SERIES = "series"
ITEMS = "items"  # series items; also the legacy flat task's list of files
TASK_CLASSIFICATION = "classification"
PRIORITY = "priority"
META_DATA = "metaData"
PRE_ASSIGN = "preAssign"
TASK_ID = "taskId"
CURRENT_STAGE = "currentStageName"
CREATED_BY = "createdBy"
CREATED_AT = "createdAt"
UPDATED_BY = "updatedBy"
UPDATED_AT = "updatedAt"
STORAGE_ID = "storageId"

# --- series ------------------------------------------------------------------------------------------
SEGMENTATIONS = "segmentations"
SEGMENT_MAP = "segmentMap"
BINARY_MASK = "binaryMask"
SEMANTIC_MASK = "semanticMask"
PNG_MASK = "pngMask"
MASK_FLAGS = (BINARY_MASK, SEMANTIC_MASK, PNG_MASK)
IMAGE_HEADERS = "imageHeaders"
LANDMARKS = "landmarks"
LANDMARKS_3D = "landmarks3d"
MEASUREMENTS = "measurements"
BOUNDING_BOXES = "boundingBoxes"
CUBOIDS = "cuboids"
ELLIPSES = "ellipses"
POLYGONS = "polygons"
POLYLINES = "polylines"
SERIES_CLASSIFICATIONS = "classifications"
INSTANCE_CLASSIFICATIONS = "instanceClassifications"
# Series keys labelport does not model; reading names them in a problem rather than dropping them silently.
UNSUPPORTED_SERIES_KEYS = ("heatMaps", "transforms", "centerline")

# --- segmentMap entries ------------------------------------------------------------------------------
CATEGORY = "category"
ATTRIBUTES = "attributes"
MASK = "mask"
OVERLAPPING_GROUPS = "overlappingGroups"
LABEL_ID = "id"
GROUP = "group"
READ_ONLY = "readOnly"
COMMENT = "comment"
# The root of a Taxonomy-V1 category path (``[["object", "liver"]]``).
CATEGORY_ROOT = "object"

# --- annotation objects ------------------------------------------------------------------------------
POINT = "point"
POINT_1 = "point1"
POINT_2 = "point2"
VERTEX = "vertex"
NORMAL = "normal"
ABSOLUTE_POINT = "absolutePoint"
ABSOLUTE_POINT_1 = "absolutePoint1"
ABSOLUTE_POINT_2 = "absolutePoint2"
ABSOLUTE_VERTEX = "absoluteVertex"
LENGTH = "length"
ANGLE = "angle"
MEASURE_TYPE = "type"
TYPE_LENGTH = "length"
TYPE_ANGLE = "angle"
I = "i"  # noqa: E741 - RedBrick's name
J = "j"
K = "k"
X = "x"
Y = "y"
Z = "z"
X_NORM = "xNorm"
Y_NORM = "yNorm"
POINT_TOP_LEFT = "pointTopLeft"
W_NORM = "wNorm"
H_NORM = "hNorm"
POINT_CENTER = "pointCenter"
X_RADIUS_NORM = "xRadiusNorm"
Y_RADIUS_NORM = "yRadiusNorm"
ROTATION_RAD = "rotationRad"
POINTS = "points"
STATS = "stats"
VIDEO = "video"
FRAME_INDEX = "frameIndex"
TRACK_ID = "trackId"
KEY_FRAME = "keyFrame"
END_TRACK = "endTrack"
FILE_INDEX = "fileIndex"
FILE_NAME = "fileName"
VALUES = "values"

# --- imageHeaders (export) ---------------------------------------------------------------------------
DIMENSIONS = "dimensions"
SPACING = "spacing"
ORIGIN = "origin"
DIRECTION = "direction"
AFFINE = "affine"

# --- export file layout ------------------------------------------------------------------------------
TASKS_FILE = "tasks.json"
SEGMENTATIONS_FOLDER = "segmentations"
INSTANCE_FILE = "instance-{}.nii.gz"
CATEGORY_FILE = "category-{}.nii.gz"

# --- what labelport keeps of a task on its data rows (metadata fields of each series' data row) -----------
META_TASK = "redbrick.task"
META_SERIES = "redbrick.series"
META_SERIES_INDEX = "redbrick.series_index"
META_PRIORITY = "redbrick.priority"
META_TASK_PREFIX = "redbrick.task.metaData."
META_SERIES_PREFIX = "redbrick.series.metaData."

# A classification node of the ontology whose RedBrick id is this is written as the task (study) classification.
STUDY_LEVEL = "study"
SERIES_LEVEL = "series"
