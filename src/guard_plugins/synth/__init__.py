"""Data generation for the classifiers (``guard-synth``).

Stages, each in its own module:

* :mod:`.offline` generates constitution-driven data with no model (templates + topics);
* :mod:`.llm` generates it the paper's way, through any litellm model string;
* :mod:`.augment` adds attack-style variants (jailbreak wrappers, multi-turn, obfuscation);
* :mod:`.public` imports the public datasets from the shared data folder;
* :mod:`.split` normalises, deduplicates and assigns leak-free splits;
* :mod:`.schema` defines the record schemas and JSONL I/O (used by train and eval too);
* :mod:`.card` writes the dataset card; :mod:`.cli` is the ``guard-synth`` command.

Importing this package is cheap: heavy dependencies (litellm) load only in :mod:`.llm`.
"""

from .schema import InputRecord, OutputRecord, read_jsonl, write_jsonl

__all__ = ["InputRecord", "OutputRecord", "read_jsonl", "write_jsonl"]
