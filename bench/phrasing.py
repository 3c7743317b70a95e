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
import tempfile
from pathlib import Path

from vasr.data.manifest import read_manifest
from vasr.decoding.beam import BeamDecoder
from vasr.decoding.ctc import greedy_transcripts
from vasr.decoding.metrics import error_rates
from vasr.infer.posteriors import posteriors
from vasr.model.export import load_for_inference
from vasr.synth import write_corpus

SENTENCES = (
    "nhà mình tối quá bật giúp cái đèn phòng khách đi",
    "tắt hết đèn trong phòng ngủ cho em nhé",
    "em ơi cho cái quạt trần quay chậm lại một chút",
    "điều hòa phòng làm việc lạnh quá tăng lên 26 độ đi",
    "mở rèm cửa sổ ra cho nắng vào",
    "làm ơn khóa cửa chính lại giúp tôi",
    "tivi to quá vặn nhỏ tiếng xuống một chút",
    "hẹn giờ tắt bình nóng lạnh sau 30 phút nữa",
    "bây giờ bật máy lọc không khí trong phòng con",
    "đèn bàn học sáng quá giảm bớt độ sáng đi",
    "tôi sắp đi ngủ rồi chuyển sang chế độ ban đêm",
    "đóng cổng lại giúp anh với",
    "máy giặt chạy xong rồi thì tắt nó đi",
    "6 giờ sáng mai nhớ bật đèn hành lang lên",
    "cho nồi cơm điện nấu lúc 5 giờ chiều",
    "phòng bếp nóng quá mở quạt hút mùi lên",
    "tăng âm lượng loa ngoài phòng khách lên mức 7",
    "cả nhà ra ngoài rồi tắt toàn bộ thiết bị giúp tôi",
    "để điều hòa ở 24 độ trong một tiếng thôi",
    "bật đèn ngủ trong phòng bé lên",
    "giảm nhiệt độ bình nóng lạnh xuống 40 độ",
    "kéo rèm phòng ngủ lại đi trời nắng quá",
    "mở loa ở ban công cho tôi nghe nhạc",
    "tắt quạt ở phòng ăn sau 15 phút",
    "hủy chế độ tiệc tùng đi khách về hết rồi",
    "kích hoạt chế độ đi vắng lúc 8 giờ tối",
    "làm ấm phòng tắm lên một chút trước khi tôi tắm",
    "bật máy sưởi ở phòng ông bà lên mức 3",
    "đèn ngoài sân còn sáng không tắt đi cho đỡ tốn điện",
    "mở cửa ga ra để anh đưa xe vào",
    "trời oi quá bật điều hòa phòng ngủ giúp chị",
    "chỉnh đèn phòng đọc sách tối đi một nửa",
    "quạt đứng ở phòng khách quay nhanh hơn được không",
    "nhờ tắt giúp cái bình nóng lạnh trong nhà tắm",
    "đến 10 giờ đêm thì tự động tắt tivi nhé",
    "bật chế độ xem phim ở phòng khách lên",
    "giảm âm lượng cái loa trong bếp xuống mức 2",
    "mở cửa sổ phòng làm việc cho thoáng",
    "máy hút bụi dọn phòng khách trong 20 phút",
    "tắt đèn cầu thang đi nhé không ai dùng nữa",
)


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
