"""Smart-home commands in the SoICT 2023 SLU format, generated from templates.

A sentence is built as segments, each plain text or an entity (type, filler), so the
sentence, its ``sentence_annotation`` and its ``entities`` always agree by construction.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np

from vasr.slu.schema import SOICT_INTENTS

Segment = tuple[str, str | None]  # (text, entity type or None)

LIGHTS = [
    "đèn",
    "bóng đèn",
    "đèn trần",
    "bóng ốp trần",
    "đèn ngủ",
    "đèn bàn",
    "đèn chùm",
    "đèn led",
    "đèn cây",
    "đèn hắt",
    "đèn tường",
    "đèn âm trần",
    "đèn cầu thang",
    "đèn sân",
]
DOORS = [
    "cửa",
    "cửa sổ",
    "cửa cuốn",
    "cổng",
    "rèm",
    "rèm cửa",
    "cửa nhà xe",
    "cửa kính",
    "cửa chính",
    "cửa sau",
    "cổng chính",
    "rèm cuốn",
    "cửa ban công",
]
LEVELLED = [
    "quạt",
    "quạt trần",
    "quạt cây",
    "máy lọc không khí",
    "máy hút mùi",
    "quạt thông gió",
    "máy tạo ẩm",
    "máy hút ẩm",
    "quạt hơi nước",
]
HEATED = [
    "điều hòa",
    "máy lạnh",
    "bình nóng lạnh",
    "lò nướng",
    "máy sưởi",
    "tủ lạnh",
    "bình nước nóng",
    "điều hòa hai chiều",
]
SPEAKERS = ["tivi", "loa", "loa thông minh", "dàn âm thanh", "đài", "máy nghe nhạc", "loa bluetooth", "ti vi"]
APPLIANCES = [
    "lò vi sóng",
    "nồi cơm điện",
    "máy giặt",
    "ổ cắm",
    "máy hút bụi",
    "robot hút bụi",
    "camera",
    "bếp từ",
    "máy rửa bát",
    "máy pha cà phê",
    "bình đun nước",
    "máy sấy",
    "vòi tưới cây",
]
SWITCHABLE = LIGHTS + LEVELLED + HEATED + SPEAKERS + APPLIANCES
LOCATIONS = [
    "phòng khách",
    "phòng ngủ",
    "phòng bếp",
    "nhà bếp",
    "phòng tắm",
    "nhà vệ sinh",
    "ban công",
    "phòng làm việc",
    "phòng ăn",
    "sân",
    "hành lang",
    "gara",
    "cầu thang",
    "phòng con",
    "phòng thờ",
    "tầng hai",
    "tầng một",
    "phòng ngủ của bố mẹ",
    "phòng em bé",
    "sân thượng",
    "phòng giặt",
    "vườn",
    "phòng khách tầng ba",
    "phòng đọc sách",
]
SCENES = [
    "đi ngủ",
    "xem phim",
    "tiệc tùng",
    "đọc sách",
    "ra khỏi nhà",
    "về nhà",
    "buổi sáng",
    "thư giãn",
    "ăn tối",
    "tập thể dục",
    "chào buổi sáng",
    "lãng mạn",
    "làm việc",
    "nghe nhạc",
    "tiếp khách",
    "đi vắng",
]
SCENE_WORDS = ["chế độ", "cảnh", "kịch bản", "ngữ cảnh"]

PREFIXES = [
    "",
    "",
    "",
    "làm ơn",
    "hãy",
    "bạn ơi,",
    "nhờ bạn",
    "em ơi",
    "alo",
    "này",
    "trợ lý ơi",
    "bạn có thể",
    "mình muốn",
    "tôi cần",
    "anh muốn",
    "cho hỏi",
]
HELPERS = [
    "",
    "",
    "giúp",
    "giúp mình",
    "giúp tôi",
    "hộ",
    "hộ tôi",
    "cho mình",
    "cho tôi",
    "giùm",
    "dùm em",
    "giúp anh",
    "cho chị",
    "cho con",
]
DETERMINERS = ["", "", "", "cái", "chiếc", "bộ", "hệ thống"]
SUFFIXES = [
    "",
    "",
    "",
    "nhé",
    "nha",
    "đi",
    "với",
    "ngay",
    "luôn",
    "ngay nhé",
    "được không",
    "đi nào",
    "nhá",
    "giúp mình nhé",
    "cái nhé",
    "đi bạn",
    "ạ",
]
PUNCTUATION = ["", "", "", "", "", ".", "!", "?"]
CHECK_TAILS = [
    "",
    "",
    "đang bật hay tắt",
    "còn mở không",
    "thế nào rồi",
    "đã tắt chưa",
    "có đang chạy không",
    "đang ở trạng thái nào",
]
LOCATION_WORDS = ["ở", "trong", "tại", "của", ""]

# Each intent of the SoICT schema (vasr.slu.schema): its command words and the devices it takes.
INTENTS = {
    "kiểm tra tình trạng thiết bị": (["kiểm tra", "xem", "kiểm tra lại", "coi"], SWITCHABLE + DOORS),
    "mở thiết bị": (["mở", "mở ra", "kéo"], DOORS),
    "đóng thiết bị": (["đóng", "đóng lại", "kéo", "sập"], DOORS),
    "bật thiết bị": (["bật", "mở", "khởi động", "cho chạy"], SWITCHABLE),
    "tắt thiết bị": (["tắt", "ngắt", "dừng", "tắt hẳn"], SWITCHABLE),
    "tăng độ sáng của thiết bị": (["tăng", "tăng độ sáng", "chỉnh sáng", "làm sáng", "nâng"], LIGHTS),
    "giảm độ sáng của thiết bị": (["giảm", "giảm độ sáng", "làm tối", "hạ", "vặn nhỏ"], LIGHTS),
    "tăng mức độ của thiết bị": (["tăng", "tăng mức", "chỉnh lên", "tăng tốc độ", "nâng"], LEVELLED),
    "giảm mức độ của thiết bị": (["giảm", "giảm mức", "chỉnh xuống", "hạ", "giảm tốc độ"], LEVELLED),
    "tăng nhiệt độ của thiết bị": (["tăng", "tăng nhiệt độ", "chỉnh nóng", "làm ấm", "nâng"], HEATED),
    "giảm nhiệt độ của thiết bị": (["giảm", "giảm nhiệt độ", "làm mát", "hạ", "chỉnh lạnh"], HEATED),
    "tăng âm lượng của thiết bị": (["tăng", "tăng âm lượng", "vặn to", "mở to", "tăng tiếng"], SPEAKERS),
    "giảm âm lượng của thiết bị": (["giảm", "giảm âm lượng", "vặn nhỏ", "hạ", "giảm tiếng"], SPEAKERS),
    "kích hoạt cảnh": (["kích hoạt", "bật", "chạy", "mở", "bắt đầu"], []),
    "hủy hoạt cảnh": (["hủy", "tắt", "dừng", "hủy bỏ", "ngừng"], []),
}


@dataclass(frozen=True)
class Utterance:
    """One command: its intent and segments; sentence, annotation and entities derive from them."""

    intent: str
    segments: tuple[Segment, ...]

    @property
    def sentence(self) -> str:
        return " ".join(text for text, _ in self.segments if text)

    @property
    def annotation(self) -> str:
        return " ".join(f"[ {kind} : {text} ]" if kind else text for text, kind in self.segments if text)

    @property
    def entities(self) -> list[dict[str, str]]:
        return [{"type": kind, "filler": text} for text, kind in self.segments if kind]

    def decomposed(self) -> Utterance:
        """The same command in NFD, as a few lines of the real corpus are written."""
        return Utterance(self.intent, tuple((unicodedata.normalize("NFD", t), k) for t, k in self.segments))


class CommandGenerator:
    """Draws commands for all 15 intents from a numpy generator, so a seed fixes the corpus."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def pick(self, options: list[str]) -> str:
        return options[int(self.rng.integers(len(options)))]

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def number(self, low: int, high: int) -> int:
        return int(self.rng.integers(low, high + 1))

    def time_at(self) -> list[Segment]:
        hour = self.number(1, 12)
        minute = self.pick(["", "", "15", "30", "45", "10", "20", str(self.number(1, 59))])
        text = f"{hour} giờ" + (f" {minute} phút" if minute else "") + self.pick(["", "", " sáng", " chiều", " tối"])
        if self.chance(0.15):
            text = f"{hour} giờ rưỡi"
        return [(self.pick(["lúc", "vào lúc", "vào", "đến"]), None), (text, "time at")]

    def duration(self) -> list[Segment]:
        amount, unit = self.pick(
            [
                (str(self.number(1, 59)), "phút"),
                (str(self.number(1, 5)), "tiếng"),
                (str(self.number(1, 3)), "giờ"),
                ("nửa", "tiếng"),
            ]
        )
        return [(self.pick(["trong", "sau", "trong vòng", "khoảng"]), None), (f"{amount} {unit}", "duration")]

    def value(self, intent: str) -> str:
        if "nhiệt độ" in intent:
            return f"{self.number(16, 32)} độ"
        if "mức độ" in intent:
            return self.pick([f"mức {self.number(1, 5)}", f"số {self.number(1, 5)}", f"{self.number(1, 5)} mức"])
        return f"{self.number(1, 100)}%"

    def amount_change(self, intent: str) -> list[Segment]:
        """Either a target ("lên 73%") or a relative change ("thêm 10%"), or nothing."""
        up = intent.startswith("tăng")
        if self.chance(0.4):
            return [
                (self.pick(["lên", "lên mức", "tới"] if up else ["xuống", "xuống mức", "về"]), None),
                (self.value(intent), "target number"),
            ]
        if self.chance(0.5):
            return [
                (self.pick(["thêm", "lên thêm"] if up else ["bớt", "đi", "xuống bớt"]), None),
                (self.value(intent), "changing value"),
            ]
        return [(self.pick(["", "một chút", "một tí", "lên" if up else "xuống"]), None)]

    def location(self) -> list[Segment]:
        if not self.chance(0.45):
            return []
        return [(self.pick(LOCATION_WORDS), None), (self.pick(LOCATIONS), "location")]

    def timing(self) -> list[Segment]:
        roll = self.rng.random()
        if roll < 0.15:
            return self.time_at()
        if roll < 0.25:
            return self.duration()
        return []

    def utterance(self) -> Utterance:
        intent = self.pick(list(SOICT_INTENTS))
        commands, devices = INTENTS[intent]
        head: list[Segment] = [(self.pick(PREFIXES), None)]
        command: list[Segment] = [(self.pick(commands), "command"), (self.pick(HELPERS), None)]
        if devices:
            target: list[Segment] = [(self.pick(DETERMINERS), None), (self.pick(devices), "device")]
            target += self.location()
        else:
            target = [(self.pick(SCENE_WORDS), None), (self.pick(SCENES), "scene")]
        body = command + target
        if intent == "kiểm tra tình trạng thiết bị":
            body.append((self.pick(CHECK_TAILS), None))
        elif intent.startswith(("tăng", "giảm")):
            body += self.amount_change(intent)
        timing = self.timing()
        if timing and self.chance(0.3):
            body = timing + body  # "lúc 7 giờ tối bật đèn" as often said as "bật đèn lúc 7 giờ tối"
        else:
            body += timing
        suffix = self.pick(SUFFIXES)
        tail: list[Segment] = [(suffix + self.pick(PUNCTUATION) if suffix else "", None)]
        return Utterance(intent, tuple(head + body + tail))
