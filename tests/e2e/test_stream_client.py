"""The load test's protocol sessions (scripts/stream_client) still speak what the app understands:
on the real server, a stroke sent as the canvas's value gets a denoised image, a second stroke a
different one, and an upload through Streamlit's upload endpoint one too, with no error shown. A
Streamlit or canvas upgrade that changes the messages fails here rather than in a benchmark."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from benchmarks.load_test import photo_png, stroke_points
from dae_core.data.datasets import load_bundled
from tests.support.stream_client import StreamSession, canvas_value

pytestmark = pytest.mark.data


async def visit(url: str) -> list:
    """Two strokes, then an upload, on the Denoise page: each run's Denoised image and counts."""
    session, strokes, seen = StreamSession(url, "denoise"), [], []
    await session.open(timeout_s=120)
    try:
        for i in range(2):
            strokes.append(stroke_points(2 * i))
            run = await session.set_widget("denoise_canvas", json_value=canvas_value(strokes))
            seen.append((await asyncio.wait_for(run.denoised, 60), await run.finished, run.errors, run.exceptions))
        await (await session.set_widget("denoise_source", string_value="Upload")).finished
        run = await session.upload("denoise_upload", "digit.png", photo_png(load_bundled("mnist")[0][0]))
        seen.append((await asyncio.wait_for(run.denoised, 60), await run.finished, run.errors, run.exceptions))
    finally:
        await session.close()
    return seen


def test_protocol_session_strokes_and_upload_get_denoised_images(app_url):
    with ThreadPoolExecutor(1) as pool:  # its own event loop: Playwright's sync API runs one here
        seen = pool.submit(asyncio.run, visit(app_url)).result()
    images = [image for image, _, _, _ in seen]
    assert all(image and image.startswith("data:image/png") for image in images), images
    assert len(set(images)) == 3  # each stroke and the upload changed the digit
    assert [(errors, exceptions) for _, _, errors, exceptions in seen] == [(0, 0)] * 3
