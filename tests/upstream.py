"""Third-party readers of vasr's output, checked on their own output first.

A test that proves transformers, pyctcdecode, webdataset or onnxruntime reads what vasr writes would turn red for
the library's own bug (transformers 5.25's ``Wav2Vec2ProcessorWithLM.from_pretrained`` fails on any folder). Each
such test first runs the reader on something the library made itself: when that fails too, the test is an xfail
naming the library, its version and the failure, never a pass and never a red suite for someone else's bug.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable

import pytest


def reader_works(distribution: str, own_output: Callable[[], object]) -> None:
    """Run ``own_output`` (the library reading what it wrote itself); xfail the calling test when it raises."""
    try:
        own_output()
    except Exception as error:
        version = importlib.metadata.version(distribution)
        pytest.xfail(f"{distribution} {version} fails on its own output, not vasr's: {type(error).__name__}: {error}")


def onnxruntime_runs_an_onnx_made_model() -> None:
    """onnxruntime on a graph built by onnx's own helpers (Identity of a float tensor)."""
    import numpy as np
    import onnx
    import onnxruntime
    from onnx import TensorProto, helper

    tensor = [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["n"]) for name in ("x", "y")]
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "identity", tensor[:1], tensor[1:])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.arange(3, dtype=np.float32)
    assert np.array_equal(session.run(None, {"x": x})[0], x)


def webdataset_reads_its_own_shard(folder) -> None:
    """webdataset reading back a shard its own ``TarWriter`` wrote."""
    import webdataset

    path = str(folder / "own-000000.tar")
    with webdataset.TarWriter(path) as writer:
        writer.write({"__key__": "a", "txt": "xin chào"})
    samples = list(webdataset.WebDataset([path], shardshuffle=False, empty_check=False).to_tuple("txt"))
    assert samples == [("xin chào".encode(),)]  # undecoded: the bytes as written
