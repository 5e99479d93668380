"""``guard-train``: fine-tune the input classifier and the streaming output classifier.

Stages: :mod:`.data` (JSONL -> tokenised windows/segments, stratified subsampling,
length-bucketed batches), :mod:`.models` (model classes and checkpoint I/O), :mod:`.losses`
(multi-label input loss, cumulative-max streaming loss), :mod:`.trainer` (training loops,
resumable state), :mod:`.calibrate` (thresholds for a target FPR), :mod:`.report`
(numpy metrics and dev reports), :mod:`.cli` (the ``guard-train`` command).

This package imports torch and transformers; the runtime never imports it.
"""
