"""A Denoise page visitor without a browser, for scripts/load_test.py: one real Streamlit session
spoken to in Streamlit's own protocol, so that many sessions cost the client little CPU.

What it sends is what Chromium was recorded sending on this page (Streamlit 1.67, the canvas 0.13):

- ``GET /_stcore/health`` first: it sets the ``_streamlit_xsrf`` cookie, which the websocket
  (``/_stcore/stream``, subprotocols ``streamlit, <cookie>``) and the upload (``X-Xsrftoken``) carry.
- ``rerun_script`` BackMsgs carrying every shown widget's state: each widget's default from its
  element, as the frontend registers it on mount, and the values changed since. A widget inside
  a fragment reruns only that fragment (``fragment_id``, read from the deltas, as the widget ids are).
- A stroke: the canvas's ``json_value``, ``{"drawing": {"raw": <fabric JSON>, "data": <PNG data
  URL>}}``: the 280 x 280 opaque RGBA canvas, white strokes on black; its state is dropped when
  the canvas is not shown, as the frontend drops it.
- An upload (into an empty uploader, as in the load test's cycle): ``file_urls_request``, then
  ``PUT`` of a multipart form (a field named as the file) to the upload URL it answers with, then a
  rerun with the ``file_uploader_state_value`` naming it.

Widgets that hold no value until used (buttons, the canvas) register no state, as in the browser.
Like the recorded browser it lists no cached messages in its reruns, so the server sends every
message whole (no ``ref_hash``). It does not follow ``auto_rerun`` (a fragment's ``run_every``):
the app asks for one only while TensorFlow loads, which the load test's warm-up waits out.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import secrets
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie

import websockets
from PIL import Image, ImageDraw
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ContextInfo
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.NumberInput_pb2 import NumberInput
from streamlit.proto.WidgetStates_pb2 import WidgetState

CANVAS, INK = 280, 18  # pages/denoise.py: st_canvas(width=280, height=280, stroke_width=18)
HTTP = ThreadPoolExecutor(32, thread_name_prefix="stream-http")  # uploads and images, off the loop
# A fabric.js freedraw Path as the canvas sends it (fabric 7.4.0), less its geometry.
PATH = json.loads('{"lockMovementX":false,"lockMovementY":false,"lockRotation":false,"lockScalingX":false,'
                  '"lockScalingY":false,"lockSkewingX":false,"lockSkewingY":false,"lockScalingFlip":false,'
                  '"type":"Path","version":"7.4.0","originX":"center","originY":"center","left":0,"top":0,'
                  '"width":0,"height":0,"fill":null,"stroke":"#FFFFFF","strokeWidth":18,"strokeDashArray":null,'
                  '"strokeLineCap":"round","strokeDashOffset":0,"strokeLineJoin":"round","strokeUniform":false,'
                  '"strokeMiterLimit":10,"scaleX":1,"scaleY":1,"angle":0,"flipX":false,"flipY":false,'
                  '"opacity":1,"shadow":null,"visible":true,"backgroundColor":"","fillRule":"nonzero",'
                  '"paintFirst":"fill","globalCompositeOperation":"source-over","skewX":0,"skewY":0,"path":[]}')


class Run:
    """One script run asked for: the "Denoised" image's URL once sent, the finish status, alerts."""

    def __init__(self, fragment_id: str):
        loop = asyncio.get_running_loop()
        self.fragment_id, self.seen = fragment_id, set()
        self.denoised, self.finished = loop.create_future(), loop.create_future()
        self.media: list[str] = []  # the images it shows from the media endpoint
        self.errors = self.exceptions = 0

    def fail(self, error: Exception) -> None:
        for future in (self.denoised, self.finished):
            if not future.done():
                future.set_exception(error)
                future.exception()  # marked retrieved: only an awaited one raises

    def end(self, status: int) -> None:
        """Done: a run that sent no "Denoised" image answers None for it. (A waiter that timed
        out has cancelled its future: nothing to set.)"""
        for future, value in ((self.denoised, None), (self.finished, status)):
            if not future.done():
                future.set_result(value)


def default_state(kind: str, element) -> WidgetState | None:
    """The state a shown widget registers in the browser before anyone touches it."""
    state = WidgetState(id=element.id)
    if kind in ("selectbox", "radio") and element.HasField("default"):
        state.string_value = element.options[element.default]
    elif kind == "slider":
        state.double_array_value.data.extend(element.default)
    elif kind == "number_input" and element.data_type == NumberInput.INT:
        state.int_value = int(element.default)
    elif kind == "number_input":
        state.double_value = element.default
    elif kind == "file_uploader":
        state.file_uploader_state_value.SetInParent()
    else:
        return None
    return state


def _js(x: float) -> float | int:
    """A coordinate as JSON.stringify writes it: 140, not 140.0."""
    x = round(x, 3)
    return int(x) if x == int(x) else x


def canvas_png(strokes: list[list[tuple[float, float]]]) -> bytes:
    """The canvas as its toDataURL encodes it: opaque RGBA, white strokes on black, anti-aliased
    (drawn 4x over, then scaled down), compressed lightly (Chromium's PNGs are about this size)."""
    side, ink = 4 * CANVAS, 4 * INK
    grey = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(grey)
    for stroke in strokes:
        xy = [(fx * side, fy * side) for fx, fy in stroke]
        draw.line(xy, fill=255, width=ink, joint="curve")
        for x, y in (xy[0], xy[-1]):  # round caps
            draw.ellipse((x - ink / 2, y - ink / 2, x + ink / 2, y + ink / 2), fill=255)
    grey = grey.resize((CANVAS, CANVAS), Image.Resampling.BOX)
    buffer = io.BytesIO()
    Image.merge("RGBA", (grey, grey, grey, Image.new("L", grey.size, 255))).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def canvas_value(strokes: list[list[tuple[float, float]]]) -> str:
    """The canvas's widget value for ``strokes`` (each points as fractions of its size)."""
    objects = []
    for stroke in strokes:
        xy = [(fx * CANVAS, fy * CANVAS) for fx, fy in stroke]
        xs, ys = [x for x, _ in xy], [y for _, y in xy]
        objects.append({**PATH, "left": _js((min(xs) + max(xs)) / 2), "top": _js((min(ys) + max(ys)) / 2),
                        "width": _js(max(xs) - min(xs)), "height": _js(max(ys) - min(ys)),
                        "path": [["M" if k == 0 else "L", _js(x), _js(y)] for k, (x, y) in enumerate(xy)]})
    data = f"data:image/png;base64,{base64.b64encode(canvas_png(strokes)).decode()}"
    drawing = {"raw": {"version": "7.4.0", "objects": objects, "background": "#000000"}, "data": data}
    return json.dumps({"drawing": drawing}, separators=(",", ":"))


class StreamSession:
    """One visitor on ``page`` of the app at ``url``: open() it, then act and time (see load_test)."""

    def __init__(self, url: str, page: str):
        self.url, self.page = url, page
        self.context = ContextInfo(timezone="UTC", timezone_offset=0, locale="en-US", url=f"{url}/{page}",
                                   is_embedded=False, color_scheme="light")
        self.widgets: dict[str, WidgetState] = {}  # id -> the state the browser would send
        self.shown: dict[str, str] = {}  # widget id -> the fragment it is drawn in ("": none)
        self.session_id = self.page_hash = self.xsrf = ""
        self.run: Run | None = None
        self.closed: str | None = None
        self._file_urls: dict[str, asyncio.Future] = {}
        self._ws = self._reader = None

    async def open(self, timeout_s: float) -> None:
        """The page as a browser opens it: cookie, socket, the first run, its images fetched."""
        headers = await self.http("GET", "/_stcore/health")
        self.xsrf = SimpleCookie(headers.get("Set-Cookie", ""))["_streamlit_xsrf"].value
        ws_url = self.url.replace("http", "ws", 1) + "/_stcore/stream"
        self._ws = await websockets.connect(ws_url, subprotocols=["streamlit", self.xsrf], origin=self.url,
                                            additional_headers={"Cookie": f"_streamlit_xsrf={self.xsrf}"},
                                            max_size=2**26, open_timeout=timeout_s)
        self._reader = asyncio.create_task(self._read())
        first = BackMsg()
        first.rerun_script.widget_states.SetInParent()
        first.rerun_script.page_name = self.page
        first.rerun_script.context_info.CopyFrom(self.context)
        run = await self._send(first, "")
        await asyncio.wait_for(asyncio.shield(run.finished), timeout_s)
        await asyncio.gather(*(self.fetch_image(url) for url in run.media))

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    def widget_id(self, key: str) -> str:
        """The id of the shown widget keyed ``key`` (ids end in their key)."""
        wid = next((i for i in self.shown if i.endswith(f"-{key}")), None)
        if wid is None:
            raise KeyError(f"no widget keyed {key!r} on the page")
        return wid

    async def set_widget(self, key: str, **value) -> Run:
        """Change the widget keyed ``key`` (``string_value="Upload"``, ``json_value=...``) and rerun."""
        wid = self.widget_id(key)
        self.widgets[wid] = WidgetState(id=wid, **value)
        return await self.rerun(self.shown.get(wid, ""))

    async def rerun(self, fragment_id: str) -> Run:
        msg = BackMsg()
        msg.rerun_script.widget_states.widgets.extend(self.widgets.values())
        msg.rerun_script.page_script_hash = self.page_hash
        msg.rerun_script.fragment_id = fragment_id
        msg.rerun_script.context_info.CopyFrom(self.context)
        return await self._send(msg, fragment_id)

    async def upload(self, key: str, name: str, data: bytes, mime: str = "image/png") -> Run:
        """The file uploader's flow: ask for an upload URL, PUT the file there, rerun naming it."""
        request_id = str(uuid.uuid4())
        answer = self._file_urls[request_id] = asyncio.get_running_loop().create_future()
        msg = BackMsg()
        msg.file_urls_request.request_id, msg.file_urls_request.session_id = request_id, self.session_id
        msg.file_urls_request.file_names.append(name)
        try:
            await self._ws.send(msg.SerializeToString())
            urls = (await answer).file_urls[0]
        finally:
            del self._file_urls[request_id]
        boundary = f"----WebKitFormBoundary{secrets.token_urlsafe(12)[:16]}"
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}"\r\n'
                f"Content-Type: {mime}\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
        await self.http("PUT", urls.upload_url, body, {"Content-Type": f"multipart/form-data; boundary={boundary}",
                                                       "X-Xsrftoken": self.xsrf})
        wid = self.widget_id(key)
        state = WidgetState(id=wid)
        state.file_uploader_state_value.uploaded_file_info.add(name=name, size=len(data), file_id=urls.file_id,
                                                               file_urls=urls)
        self.widgets[wid] = state
        return await self.rerun(self.shown.get(wid, ""))

    async def fetch_image(self, url: str) -> None:
        """What the browser does before it can draw an image: fetch a media URL, decode it."""
        if url.startswith("data:"):  # shown inline (dashboard.widgets.show_image): decoded only
            data = base64.b64decode(url.split(",", 1)[1])
        else:
            data = await self.http("GET", url, want_body=True)
        Image.open(io.BytesIO(data)).load()

    async def http(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                   want_body: bool = False):
        """One request to the app (a thread each: urllib blocks); its headers, or its body."""
        cookie = {"Cookie": f"_streamlit_xsrf={self.xsrf}"} if self.xsrf else {}
        request = urllib.request.Request(self.url + path, body, {**cookie, "Origin": self.url, **(headers or {})},
                                          method=method)

        def send():
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.read() if want_body else response.headers
        return await asyncio.get_running_loop().run_in_executor(HTTP, send)

    async def _send(self, msg: BackMsg, fragment_id: str) -> Run:
        if self.closed:
            raise ConnectionError(self.closed)
        self.run = Run(fragment_id)
        await self._ws.send(msg.SerializeToString())
        return self.run

    async def _read(self) -> None:
        try:
            async for frame in self._ws:
                self._on(ForwardMsg.FromString(frame))
            self.closed = f"socket closed ({self._ws.close_code})"
        except websockets.ConnectionClosed as e:
            self.closed = f"socket closed ({e})"
        except Exception as e:  # noqa: BLE001 - a message this client cannot read ends the session
            self.closed = f"{type(e).__name__}: {e}"
        for future in self._file_urls.values():
            future.cancel()
        if self.run:
            self.run.fail(ConnectionError(self.closed))

    def _on(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self.page_hash = msg.new_session.page_script_hash
            self.session_id = msg.new_session.initialize.session_id or self.session_id
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element" and self.run:
            self._element(msg.delta.new_element, msg.delta.fragment_id)
        elif kind == "file_urls_response" and msg.file_urls_response.response_id in self._file_urls:
            answer = self._file_urls[msg.file_urls_response.response_id]
            if not answer.done():  # done: its waiter timed out
                answer.set_result(msg.file_urls_response)
        elif kind == "script_finished" and self.run and msg.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
            self._finished(msg.script_finished)

    def _element(self, element, fragment_id: str) -> None:
        kind = element.WhichOneof("type")
        body, run = getattr(element, kind), self.run
        run.exceptions += kind == "exception"
        run.errors += kind == "alert" and body.format == Alert.ERROR
        if kind == "imgs":
            for image in body.imgs:
                if image.caption == "Denoised" and not run.denoised.done():  # done: cancelled
                    run.denoised.set_result(image.url)
                elif not image.url.startswith("data:"):
                    run.media.append(image.url)
        if "id" in body.DESCRIPTOR.fields_by_name and body.id:
            run.seen.add(body.id)
            self.shown[body.id] = fragment_id
            if body.id not in self.widgets and (state := default_state(kind, body)):
                self.widgets[body.id] = state

    def _finished(self, status: int) -> None:
        """As the frontend does after a run: forget the widgets it did not draw again (of the
        fragment it ran, for a fragment run)."""
        run = self.run
        run.exceptions += status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR
        for wid in [w for w in self.shown if w not in run.seen]:
            if not run.fragment_id or self.shown[wid] == run.fragment_id:
                self.widgets.pop(wid, None)
                del self.shown[wid]
        run.end(status)
