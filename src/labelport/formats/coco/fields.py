"""COCO field names (cocodataset.org/#format-data; pycocotools), and labelport's additions, in one place.

labelport adds, where COCO has no field: an image's ``data_row`` (the data row key), ``plane`` and ``frame``
(a slice of a volume exported in 2-D), a category's ``schema_id``, and an annotation's ``attributes``
(CVAT's convention) holding ``uuid`` and, for a mask cut from a volume, ``object`` (the volume object's uuid).
"""

from __future__ import annotations

IMAGES = "images"
ANNOTATIONS = "annotations"
CATEGORIES = "categories"
INFO = "info"
ID = "id"
FILE_NAME = "file_name"
WIDTH = "width"
HEIGHT = "height"
IMAGE_ID = "image_id"
CATEGORY_ID = "category_id"
SEGMENTATION = "segmentation"
BBOX = "bbox"
AREA = "area"
ISCROWD = "iscrowd"
KEYPOINTS = "keypoints"
NUM_KEYPOINTS = "num_keypoints"
SCORE = "score"
NAME = "name"
SUPERCATEGORY = "supercategory"
SIZE = "size"
COUNTS = "counts"
# labelport's additions
DATA_ROW = "data_row"
PLANE = "plane"
FRAME = "frame"
SCHEMA_ID = "schema_id"
ATTRIBUTES = "attributes"
UUID = "uuid"
OBJECT = "object"
