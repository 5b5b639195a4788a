#!/usr/bin/python3
"""Writes request frames encoded by kafka-python's own protocol classes (its real
wire encoder, as its producer and consumer use it) for golden tests.

    /usr/bin/python3 tools/capture/kafka_python_frames.py OUT_DIR
"""
import os
import sys

from kafka.protocol.fetch import FetchRequest
from kafka.protocol.group import JoinGroupRequest
from kafka.protocol.offset import OffsetRequest
from kafka.protocol.parser import KafkaProtocol
from kafka.protocol.produce import ProduceRequest
from kafka.record.default_records import DefaultRecordBatchBuilder
from kafka.record.legacy_records import LegacyRecordBatchBuilder


def frame(request):
    proto = KafkaProtocol(client_id="kafka-python")
    proto.send_request(request)
    data = proto.send_bytes()
    return data[4:]  # without the size prefix


def v2_batch(codec):
    b = DefaultRecordBatchBuilder(magic=2, compression_type=codec, is_transactional=False, producer_id=-1,
                                  producer_epoch=-1, base_sequence=-1, batch_size=1 << 20)
    for i in range(3):
        b.append(i, timestamp=1700000000000 + i, key=b"k%d" % i, value=b"value %d" % i,
                 headers=[("h", b"v")])
    return bytes(b.build())


def legacy_set(magic, codec):
    b = LegacyRecordBatchBuilder(magic=magic, compression_type=codec, batch_size=1 << 20)
    for i in range(3):
        b.append(i, timestamp=1700000000000 + i if magic else None, key=b"k%d" % i, value=b"value %d" % i)
    return bytes(b.build())


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    frames = {
        "0_3_kafka-python-v2batch": ProduceRequest[3](transactional_id=None, required_acks=-1, timeout=1000,
                                                      topics=[("golden", [(0, v2_batch(0))])]),
        "0_2_kafka-python-legacy1-gzip": ProduceRequest[2](required_acks=1, timeout=1000,
                                                           topics=[("golden", [(0, legacy_set(1, 1))])]),
        "0_0_kafka-python-legacy0": ProduceRequest[0](required_acks=1, timeout=1000,
                                                      topics=[("golden", [(0, legacy_set(0, 0))])]),
        "1_4_kafka-python": FetchRequest[4](-1, 500, 1, 1048576, 0,
                                            [("golden", [(0, 0, 1048576)])]),
        "2_1_kafka-python": OffsetRequest[1](-1, [("golden", [(0, -2)])]),
        "11_1_kafka-python": JoinGroupRequest[1]("group", 10000, 30000, "", "consumer",
                                                 [("range", b"\x00\x00\x00\x00\x00\x01\x00\x06golden\xff\xff\xff\xff")]),
    }
    for name, req in frames.items():
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(frame(req))
        print("wrote", name)
    # The record blobs alone, for the record module's golden test.
    batch_dir = os.path.join(out, "..", "..", "..", "record", "tests", "golden")
    for name, blob in {"kafka-python-v2-none": v2_batch(0), "kafka-python-v2-gzip": v2_batch(1),
                       "kafka-python-v2-snappy": v2_batch(2), "kafka-python-v2-lz4": v2_batch(3)}.items():
        with open(os.path.join(batch_dir, name + ".batch"), "wb") as f:
            f.write(blob)


if __name__ == "__main__":
    main()
