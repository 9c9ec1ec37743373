"""The API as a server process runs it: ``uvicorn credit_scoring.api.asgi:app``.

The same application as :data:`credit_scoring.api.main.app`, in a lean process
(:mod:`credit_scoring.api.lean_worker`): imported first, before pandas, this module keeps Arrow
out of the worker and starts fetching the registered model in a child process
(:func:`credit_scoring.api.registry.prefetch`) while the worker imports the rest. Import
:mod:`credit_scoring.api.main` instead where the process also runs pipeline code (tests in
process, notebooks): they need pyarrow.
"""

from credit_scoring.api.lean_worker import keep_arrow_out

if keep_arrow_out():
    from credit_scoring.api.registry import prefetch
    from credit_scoring.api.settings import ApiSettings

    _settings = ApiSettings()
    prefetch(_settings.model_uri, _settings.tracking_uri)

from credit_scoring.api.main import app  # noqa: E402  (after Arrow is kept out)

__all__ = ["app"]
