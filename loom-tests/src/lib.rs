//! Empty: the models are in `tests/`, compiled only under `--cfg crossbeam_loom`.
