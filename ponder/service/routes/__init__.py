"""The service's routes, one ``APIRouter`` per area: health and metrics, collections (with their
documents and ingest jobs), asking; the OpenAI-compatible routes are in
:mod:`ponder.service.openai_compat`."""
