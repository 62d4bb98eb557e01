"""gepa's litellm client fetches a model price map on first use; there is no network here."""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "true")
