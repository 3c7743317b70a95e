"""The SoICT 2023 SLU schema: its intents, its entity types and the BIO tag outside any entity.

Below everything that writes or reads SoICT lines: the demo synthesiser generates its intents, the NLU reads them.
"""

SOICT_INTENTS = (
    "kiểm tra tình trạng thiết bị",
    "mở thiết bị",
    "đóng thiết bị",
    "bật thiết bị",
    "tắt thiết bị",
    "tăng độ sáng của thiết bị",
    "giảm độ sáng của thiết bị",
    "tăng mức độ của thiết bị",
    "giảm mức độ của thiết bị",
    "tăng nhiệt độ của thiết bị",
    "giảm nhiệt độ của thiết bị",
    "tăng âm lượng của thiết bị",
    "giảm âm lượng của thiết bị",
    "kích hoạt cảnh",
    "hủy hoạt cảnh",
)
SOICT_ENTITY_TYPES = (
    "command",
    "device",
    "location",
    "target number",
    "time at",
    "duration",
    "changing value",
    "scene",
)
OUTSIDE = "O"
