"""gr.Blocks whose events answer every malformed request, and every user error, with one
clear message (a gr.Error, logged as one line, no traceback): values missing, a value a
component cannot take, a file that is not an upload of this server (checked before anything
opens it, whether or not the request says it is a gradio.FileData), an EmotionAppError
raised by an action. An unknown endpoint or event number gets a 404."""

from __future__ import annotations

import re
from pathlib import Path

import gradio as gr
from gradio.exceptions import ComponentProcessingError, InvalidPathError
from starlette.requests import Request
from starlette.responses import JSONResponse

from emotion_recognition.core.errors import EmotionAppError
from emotion_recognition.serving.log import log_user_error
from emotion_recognition.serving.middleware import UPLOAD_ROUTE
from emotion_recognition.serving.store import FileStore, NOT_AN_UPLOAD

FILE_INPUTS = (gr.Image, gr.File, gr.Video)
OPTIONAL_INPUTS: set[int] = set()  # inputs added to an event later, last: older clients omit them
ROOT = Path(__file__).resolve().parent.parent
OUR_CODE = (str(ROOT / "ui"), str(ROOT / "app.py"), str(ROOT / "emotion_recognition"))


def user_error(where: str, error: Exception | str) -> gr.Error:
    """A user's mistake: a plain message for them, one log line (no traceback) for us."""
    log_user_error(where, str(error))
    return gr.Error(str(error), print_exception=False)


class SafeBlocks(gr.Blocks):
    """gr.Blocks for this app: see the module's docstring. ``store`` is the server's upload
    store (serving/store.py): the only files an event may be sent."""

    def __init__(self, store: FileStore, **options):
        self.store = store
        super().__init__(**options)

    def check_on_join(self, block_fn, inputs: list) -> list:
        """The check a request's values pass when it joins the queue (ui/fair_queue.py),
        and again at its turn: enough of them. Raises user_error; returns the values with
        the defaults of optional inputs. (Files are checked at its turn, with the message
        an API client reads as the event's error.)"""
        inputs = _with_defaults(block_fn, inputs)
        try:
            self.validate_inputs(block_fn, inputs)
        except ValueError:
            missing = (f"This request sends {len(inputs)} values: fewer than it takes (see "
                       "\"Use via API\" at the foot of the page).")
            raise user_error(block_fn.api_name or block_fn.name, missing) from None
        return inputs

    async def preprocess_data(self, block_fn, inputs, state, explicit_call=False):
        where = block_fn.api_name or block_fn.name
        inputs = self.check_on_join(block_fn, inputs)
        try:
            self._check_files(block_fn, inputs)
            return await super().preprocess_data(block_fn, inputs, state, explicit_call)
        except gr.Error as error:  # a component's own check (a choice not offered, ...)
            raise user_error(where, _plain(error.message)) from None
        except EmotionAppError as error:
            raise user_error(where, error) from None
        except InvalidPathError:
            raise user_error(where, NOT_AN_UPLOAD) from None
        except ComponentProcessingError as error:  # worded by _format_processing_error
            raise user_error(where, error) from None
        except Exception as error:  # noqa: BLE001 - the request's values, not our code
            raise user_error(where, f"This request's values cannot be read "
                                    f"({type(error).__name__}).") from None

    async def call_function(self, block_fn, *args, **kwargs):
        where = block_fn.api_name or block_fn.name
        try:
            return await super().call_function(block_fn, *args, **kwargs)
        except EmotionAppError as error:  # an action's message for the person
            raise user_error(where, error) from None
        except gr.Error as error:
            if not error.print_exception:  # ours (user_error): logged already
                raise
            raise user_error(where, error.message) from None
        except Exception as error:
            if _in_our_code(error):
                raise  # a real fault: its traceback is logged
            # Gradio's own machinery fed what a client sent (an example number, the data
            # of a click): the client's mistake
            raise user_error(where, "This request's values cannot be used "
                                    f"({type(error).__name__}).") from None

    @staticmethod
    def _format_processing_error(block_fn, index, block, value, is_input, original_error):
        if not is_input:  # our output, not the client's input: a real fault, told in full
            return gr.Blocks._format_processing_error(block_fn, index, block, value, is_input,
                                                      original_error)
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:60] + "..."
        return f"{block.label or block.get_block_name()}: {shown} is not a value it takes."

    def _check_files(self, block_fn, inputs: list) -> None:
        """Every file an event is sent must be an upload of this server."""
        for block, value in zip(block_fn.inputs, inputs):
            if not isinstance(block, FILE_INPUTS) or value is None:
                continue
            if not isinstance(value, dict) or not isinstance(value.get("path"), str):
                raise gr.Error(f"{block.label}: send an uploaded file, as {UPLOAD_ROUTE} "
                               "answers it: {\"path\": ..., \"meta\": {\"_type\": "
                               "\"gradio.FileData\"}}.")
            self.store.check(value["path"])


def _with_defaults(block_fn, inputs: list) -> list:
    """A request without the inputs added since its client was written (OPTIONAL_INPUTS,
    the last of the API's): their default values, and a place for each State (as Gradio
    makes for a request that sends every API input)."""
    if len(inputs) >= len(block_fn.inputs):
        return inputs
    api_inputs = [block for block in block_fn.inputs if not block.skip_api]
    missing = api_inputs[len(inputs):]
    if not missing or not all(block._id in OPTIONAL_INPUTS for block in missing):
        return inputs
    values = iter([*inputs, *(block.value for block in missing)])
    return [None if block.skip_api else next(values) for block in block_fn.inputs]


def _plain(message: str) -> str:
    """A component's message for a person: no Python types, a long value sent cut short."""
    message = re.sub(r" \(type: <class '\w+'>\)", "", str(message))
    message = re.sub(r"'([^']{40})[^']+'", r"'\1...'", message)
    return message if len(message) <= 300 else message[:297] + "..."


def _in_our_code(error: BaseException) -> bool:
    """Whether an error was raised while this app's code ran (app.py, ui/,
    emotion_recognition), past the frame that caught it."""
    frame = error.__traceback__.tb_next if error.__traceback__ else None
    while frame is not None:
        if frame.tb_frame.f_code.co_filename.startswith(OUR_CODE):
            return True
        frame = frame.tb_next
    return False


def not_found(request: Request, error: Exception) -> JSONResponse:
    """An API name (or event number) that is not one of this app's: a 404 and one log
    line. (Gradio looks an event number up in a dict: a KeyError from elsewhere is ours.)"""
    if isinstance(error, KeyError) and not request.url.path.endswith("/queue/join"):
        raise error
    log_user_error("api", f"no such endpoint: {request.url.path} {error}")
    return JSONResponse({"error": "There is no such endpoint: see \"Use via API\" at the foot "
                                  "of the page for this app's."}, status_code=404)
