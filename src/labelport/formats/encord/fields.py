"""Encord wire field names: label rows (``LabelRowV2.to_encord_dict``) and ontologies (``OntologyStructure``).

Nothing outside ``formats/encord`` names these (a test checks it). notes/encord.md sections 1 to 7.
"""

from enum import StrEnum

# --- label row, top level (section 1) ---------------------------------------------------------------
LABEL_HASH = "label_hash"
BRANCH_NAME = "branch_name"
CREATED_AT = "created_at"
LAST_EDITED_AT = "last_edited_at"
DATA_HASH = "data_hash"
DATASET_HASH = "dataset_hash"
DATASET_TITLE = "dataset_title"
DATA_TITLE = "data_title"
DATA_TYPE = "data_type"
ANNOTATION_TASK_STATUS = "annotation_task_status"
IS_SHADOW_DATA = "is_shadow_data"
LABEL_STATUS = "label_status"
DATA_UNITS = "data_units"
OBJECT_ANSWERS = "object_answers"
CLASSIFICATION_ANSWERS = "classification_answers"
OBJECT_ACTIONS = "object_actions"
SPACES = "spaces"
MAIN_BRANCH = "main"

# --- data units (section 2) -------------------------------------------------------------------------
DATA_SEQUENCE = "data_sequence"
DATA_LINK = "data_link"
DATA_LINKS = "data_links"
WIDTH = "width"
HEIGHT = "height"
DATA_FPS = "data_fps"
DATA_DURATION = "data_duration"
LABELS = "labels"
METADATA = "metadata"
OBJECTS = "objects"
CLASSIFICATIONS = "classifications"
# slice metadata of a DICOM unit (section 3.1)
DICOM_INSTANCE_UID = "dicom_instance_uid"
MULTIFRAME_FRAME_NUMBER = "multiframe_frame_number"
FILE_URI = "file_uri"
SERIES_UID = "series_uid"
STUDY_UID = "study_uid"
PATIENT_ID = "patient_id"

# --- frame objects (section 3) ----------------------------------------------------------------------
OBJECT_HASH = "objectHash"
FEATURE_HASH = "featureHash"
NAME = "name"
VALUE = "value"
COLOR = "color"
SHAPE = "shape"
CREATED_AT_OBJECT = "createdAt"
CREATED_BY = "createdBy"
LAST_EDITED_AT_OBJECT = "lastEditedAt"
LAST_EDITED_BY = "lastEditedBy"
CONFIDENCE = "confidence"
MANUAL_ANNOTATION = "manualAnnotation"
BOUNDING_BOX = "boundingBox"
ROTATABLE_BOUNDING_BOX = "rotatableBoundingBox"
POLYGON = "polygon"
POLYGONS = "polygons"
POLYLINE = "polyline"
POINT = "point"
BITMASK = "bitmask"
SKELETON = "skeleton"
ELLIPSE = "ellipse"
X = "x"
Y = "y"
W = "w"
H = "h"
THETA = "theta"
RX = "rx"
RY = "ry"
TOP = "top"
LEFT = "left"
RLE_STRING = "rleString"
VISIBILITY = "visibility"

# --- answers (sections 5 and 6) ---------------------------------------------------------------------
CLASSIFICATION_HASH = "classificationHash"
ANSWERS = "answers"
ACTIONS = "actions"
RANGE = "range"
DYNAMIC = "dynamic"
SHOULD_PROPAGATE = "shouldPropagate"
TRACK_HASH = "trackHash"

# --- ontology (section 7) ---------------------------------------------------------------------------
ONTOLOGY_OBJECTS = "objects"
ONTOLOGY_CLASSIFICATIONS = "classifications"
SKELETON_TEMPLATES = "skeleton_templates"
ID = "id"
FEATURE_NODE_HASH = "featureNodeHash"
ATTRIBUTES = "attributes"
OPTIONS = "options"
LABEL = "label"
TYPE = "type"
REQUIRED = "required"
ARCHIVED = "archived"
LEVEL = "level"
GLOBAL_LEVEL = "global"
# the ontology API envelope {ontology_hash, title, description, created_at, last_edited_at, editor}
EDITOR = "editor"
TITLE = "title"
ONTOLOGY_HASH = "ontology_hash"

# Timestamps as the SDK writes them (section 1), always UTC.
TIMESTAMP_FORMAT = "%a, %d %b %Y %H:%M:%S UTC"


class DataType(StrEnum):
    """``data_type`` of a label row, as the label dict spells it."""

    IMAGE = "image"
    IMG_GROUP = "img_group"
    VIDEO = "video"
    DICOM = "dicom"
    NIFTI = "nifti"


class Shape(StrEnum):
    """Object ``shape`` values (ontology objects and frame objects)."""

    BOUNDING_BOX = "bounding_box"
    ROTATABLE_BOUNDING_BOX = "rotatable_bounding_box"
    POLYGON = "polygon"
    POLYLINE = "polyline"
    POINT = "point"
    BITMASK = "bitmask"
    SKELETON = "skeleton"
    ELLIPSE = "ellipse"


# Shapes Encord has that labelport's model does not (range-based media, 3-D and 2-D cuboids, circles).
UNSUPPORTED_SHAPES = frozenset(
    {"audio", "text", "time_range", "segmentation", "cuboid", "cuboid_2d", "circle", "html", "pdf"}
)


class AttributeType(StrEnum):
    RADIO = "radio"
    CHECKLIST = "checklist"
    TEXT = "text"


class Visibility(StrEnum):
    """Skeleton point visibility (``visibility``; older exports: one boolean flag of the same name)."""

    VISIBLE = "visible"
    INVISIBLE = "invisible"
    OCCLUDED = "occluded"
    SELF_OCCLUDED = "selfOccluded"


class LabelStatus(StrEnum):
    NOT_LABELLED = "NOT_LABELLED"
    LABEL_IN_PROGRESS = "LABEL_IN_PROGRESS"
    LABELLED = "LABELLED"
    REVIEWED = "REVIEWED"


class TaskStatus(StrEnum):
    QUEUED = "QUEUED"
    IN_REVIEW = "IN_REVIEW"
    RETURNED = "RETURNED"
    COMPLETED = "COMPLETED"


MIME_DICOM = "application/dicom"
MIME_NIFTI = "application/nifti1"
