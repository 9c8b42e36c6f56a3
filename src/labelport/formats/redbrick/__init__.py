"""RedBrick AI: items lists with NIfTI segmentations in (``items``), ``tasks.json`` with segmentation folders
out (``tasks``), merged the way redbrick-sdk merges them (``merge``) and checked where it does not
(``volumes``). Field names live in ``fields``; docs/formats/redbrick.md describes the format."""
