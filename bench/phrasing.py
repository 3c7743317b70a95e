"""WER on smart-home requests phrased as people say them, not as the demo's templates do.

python bench/phrasing.py MODEL [MODEL ...]   ->  RESULT phrasing <WER of the last MODEL>

Each MODEL is a checkpoint or Hugging Face folder (e.g. vasr/assets/vasr-tiny-vi before
fine-tuning, runs/train/<run>/export after). A folder with a language_model/ (train.py
writes one into export/) is scored greedy and with its n-gram LM; the RESULT is the latter.
The sentences below were written for vasr by hand to differ from its templates in carrier
phrases, word order, fillers and vocabulary; they are spoken by the demo corpus's synthesiser
with voices drawn from another seed.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

from vasr.data.manifest import read_manifest
from vasr.decoding.beam import BeamDecoder
from vasr.decoding.ctc import greedy_transcripts
from vasr.decoding.metrics import error_rates
from vasr.infer.posteriors import posteriors
from vasr.model.export import load_for_inference
from vasr.synth import write_corpus

# Intent and annotated sentence of each request, written by hand in the SoICT schema (bench/slu.py scores them).
PHRASINGS = (
    ("bật thiết bị", "nhà mình tối quá [ command : bật ] giúp cái [ device : đèn ] [ location : phòng khách ] đi"),
    ("tắt thiết bị", "[ command : tắt ] hết [ device : đèn ] trong [ location : phòng ngủ ] cho em nhé"),
    (
        "giảm mức độ của thiết bị",
        "em ơi cho cái [ device : quạt trần ] [ command : quay chậm lại ] [ changing value : một chút ]",
    ),
    (
        "tăng nhiệt độ của thiết bị",
        "[ device : điều hòa ] [ location : phòng làm việc ] lạnh quá [ command : tăng ] lên [ target number : 26 độ ] đi",
    ),
    ("mở thiết bị", "[ command : mở ] [ device : rèm cửa sổ ] ra cho nắng vào"),
    ("đóng thiết bị", "làm ơn [ command : khóa ] [ device : cửa chính ] lại giúp tôi"),
    (
        "giảm âm lượng của thiết bị",
        "[ device : tivi ] to quá [ command : vặn nhỏ ] tiếng xuống [ changing value : một chút ]",
    ),
    ("tắt thiết bị", "hẹn giờ [ command : tắt ] [ device : bình nóng lạnh ] sau [ duration : 30 phút ] nữa"),
    ("bật thiết bị", "bây giờ [ command : bật ] [ device : máy lọc không khí ] trong [ location : phòng con ]"),
    ("giảm độ sáng của thiết bị", "[ device : đèn bàn học ] sáng quá [ command : giảm bớt độ sáng ] đi"),
    ("kích hoạt cảnh", "tôi sắp đi ngủ rồi [ command : chuyển sang ] chế độ [ scene : ban đêm ]"),
    ("đóng thiết bị", "[ command : đóng ] [ device : cổng ] lại giúp anh với"),
    ("tắt thiết bị", "[ device : máy giặt ] chạy xong rồi thì [ command : tắt ] nó đi"),
    (
        "bật thiết bị",
        "[ time at : 6 giờ sáng ] mai nhớ [ command : bật ] [ device : đèn ] [ location : hành lang ] lên",
    ),
    ("bật thiết bị", "cho [ device : nồi cơm điện ] [ command : nấu ] lúc [ time at : 5 giờ chiều ]"),
    ("bật thiết bị", "[ location : phòng bếp ] nóng quá [ command : mở ] [ device : quạt hút mùi ] lên"),
    (
        "tăng âm lượng của thiết bị",
        "[ command : tăng âm lượng ] [ device : loa ] ngoài [ location : phòng khách ] lên [ target number : mức 7 ]",
    ),
    ("tắt thiết bị", "cả nhà ra ngoài rồi [ command : tắt ] toàn bộ [ device : thiết bị ] giúp tôi"),
    (
        "giảm nhiệt độ của thiết bị",
        "[ command : để ] [ device : điều hòa ] ở [ target number : 24 độ ] trong [ duration : một tiếng ] thôi",
    ),
    ("bật thiết bị", "[ command : bật ] [ device : đèn ngủ ] trong [ location : phòng bé ] lên"),
    (
        "giảm nhiệt độ của thiết bị",
        "[ command : giảm nhiệt độ ] [ device : bình nóng lạnh ] xuống [ target number : 40 độ ]",
    ),
    ("đóng thiết bị", "[ command : kéo ] [ device : rèm ] [ location : phòng ngủ ] lại đi trời nắng quá"),
    ("bật thiết bị", "[ command : mở ] [ device : loa ] ở [ location : ban công ] cho tôi nghe nhạc"),
    ("tắt thiết bị", "[ command : tắt ] [ device : quạt ] ở [ location : phòng ăn ] sau [ duration : 15 phút ]"),
    ("hủy hoạt cảnh", "[ command : hủy ] chế độ [ scene : tiệc tùng ] đi khách về hết rồi"),
    ("kích hoạt cảnh", "[ command : kích hoạt ] chế độ [ scene : đi vắng ] lúc [ time at : 8 giờ tối ]"),
    (
        "tăng nhiệt độ của thiết bị",
        "[ command : làm ấm ] [ location : phòng tắm ] lên [ changing value : một chút ] trước khi tôi tắm",
    ),
    (
        "tăng mức độ của thiết bị",
        "[ command : bật ] [ device : máy sưởi ] ở [ location : phòng ông bà ] lên [ target number : mức 3 ]",
    ),
    ("tắt thiết bị", "[ device : đèn ] ngoài [ location : sân ] còn sáng không [ command : tắt ] đi cho đỡ tốn điện"),
    ("mở thiết bị", "[ command : mở ] [ device : cửa ga ra ] để anh đưa xe vào"),
    ("bật thiết bị", "trời oi quá [ command : bật ] [ device : điều hòa ] [ location : phòng ngủ ] giúp chị"),
    (
        "giảm độ sáng của thiết bị",
        "[ command : chỉnh ] [ device : đèn ] [ location : phòng đọc sách ] tối đi [ changing value : một nửa ]",
    ),
    (
        "tăng mức độ của thiết bị",
        "[ device : quạt đứng ] ở [ location : phòng khách ] [ command : quay nhanh hơn ] được không",
    ),
    ("tắt thiết bị", "nhờ [ command : tắt ] giúp cái [ device : bình nóng lạnh ] trong [ location : nhà tắm ]"),
    ("tắt thiết bị", "đến [ time at : 10 giờ đêm ] thì tự động [ command : tắt ] [ device : tivi ] nhé"),
    ("kích hoạt cảnh", "[ command : bật ] chế độ [ scene : xem phim ] ở [ location : phòng khách ] lên"),
    (
        "giảm âm lượng của thiết bị",
        "[ command : giảm âm lượng ] cái [ device : loa ] trong [ location : bếp ] xuống [ target number : mức 2 ]",
    ),
    ("mở thiết bị", "[ command : mở ] [ device : cửa sổ ] [ location : phòng làm việc ] cho thoáng"),
    (
        "bật thiết bị",
        "[ device : máy hút bụi ] [ command : dọn ] [ location : phòng khách ] trong [ duration : 20 phút ]",
    ),
    ("tắt thiết bị", "[ command : tắt ] [ device : đèn ] [ location : cầu thang ] đi nhé không ai dùng nữa"),
)
SENTENCES = tuple(re.sub(r"\[ [^:]+ : ([^\]]+) \]", r"\1", annotation) for _, annotation in PHRASINGS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", help="checkpoints or Hugging Face folders")
    parser.add_argument("--seed", type=int, default=2024, help="voices of the held-out speech")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        manifest = write_corpus(tmp, len(SENTENCES), seed=args.seed, text=SENTENCES)
        items, _ = read_manifest(manifest, Path(tmp) / "audio", numbers="verbalize")
        wer = float("nan")
        for path in args.models:
            model, tokenizer = load_for_inference(path)
            log_probs, _ = posteriors(model, tokenizer, items)
            decoders = {"greedy": None}
            if (lm := BeamDecoder.load(path, tokenizer)) is not None:
                decoders["n-gram LM"] = lm
            for name, decoder in decoders.items():
                hyps = decoder.decode(log_probs) if decoder else greedy_transcripts(tokenizer, log_probs)
                rates = error_rates((i.id, i.text, h) for i, h in zip(items, hyps, strict=True))
                wer = rates["wer"]
                print(f"{path} ({name}): WER {rates['wer']:.1%} CER {rates['cer']:.1%} on {len(items)} utterances")
                for item, hyp in list(zip(items, hyps, strict=True))[:5]:
                    print(f"  ref: {item.text}\n  hyp: {hyp}")
    print(f"RESULT phrasing {wer:.4f}")


if __name__ == "__main__":
    main()
