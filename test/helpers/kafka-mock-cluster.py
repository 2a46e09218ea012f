"""A Kafka-protocol broker on loopback for Sluice's tests: librdkafka's mock cluster.

Run with Debian's /usr/bin/python3 (python3-confluent-kafka brings librdkafka). Prints
`bootstrap <host:port>` once listening, then reads commands on stdin, one a line, answering
`ok <command>` to each:

  down            the broker closes every connection and refuses new ones (an outage; data kept)
  up              the broker takes connections again
  topic <name> <partitions>   creates a topic
  topic-error <name> <code>   metadata for that topic answers this Kafka error code (3: unknown topic)

End of stdin stops it. Data is kept in memory only. librdkafka's mock API is reached through
ctypes: confluent_kafka's Python classes do not expose the cluster handle, and the outage needs
rd_kafka_mock_broker_set_down/up on the same address.
"""
import ctypes
import sys

try:
    import confluent_kafka  # noqa: F401  (the package that brings librdkafka)
except ImportError:
    print("missing python3-confluent-kafka: apt-get install python3-confluent-kafka", file=sys.stderr)
    sys.exit(3)

lib = ctypes.CDLL("librdkafka.so.1")
lib.rd_kafka_conf_new.restype = ctypes.c_void_p
lib.rd_kafka_conf_set.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
lib.rd_kafka_new.restype = ctypes.c_void_p
lib.rd_kafka_new.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
lib.rd_kafka_mock_cluster_new.restype = ctypes.c_void_p
lib.rd_kafka_mock_cluster_new.argtypes = [ctypes.c_void_p, ctypes.c_int]
lib.rd_kafka_mock_cluster_bootstraps.restype = ctypes.c_char_p
lib.rd_kafka_mock_cluster_bootstraps.argtypes = [ctypes.c_void_p]
lib.rd_kafka_mock_broker_set_down.argtypes = [ctypes.c_void_p, ctypes.c_int32]
lib.rd_kafka_mock_broker_set_up.argtypes = [ctypes.c_void_p, ctypes.c_int32]
lib.rd_kafka_mock_topic_set_error.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
lib.rd_kafka_mock_topic_create.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int]

errstr = ctypes.create_string_buffer(512)
conf = lib.rd_kafka_conf_new()
for key, value in (("log_level", "0"),):
    if lib.rd_kafka_conf_set(conf, key.encode(), value.encode(), errstr, 512) != 0:
        print(f"conf {key}: {errstr.value.decode()}", file=sys.stderr)
        sys.exit(4)
rk = lib.rd_kafka_new(0, conf, errstr, 512)  # RD_KAFKA_PRODUCER
if not rk:
    print(f"rd_kafka_new: {errstr.value.decode()}", file=sys.stderr)
    sys.exit(4)
cluster = lib.rd_kafka_mock_cluster_new(rk, 1)
if not cluster:
    print("rd_kafka_mock_cluster_new failed", file=sys.stderr)
    sys.exit(4)
print("bootstrap " + lib.rd_kafka_mock_cluster_bootstraps(cluster).decode(), flush=True)

for line in sys.stdin:
    words = line.split()
    if not words:
        continue
    if words[0] == "down":
        lib.rd_kafka_mock_broker_set_down(cluster, 1)
    elif words[0] == "up":
        lib.rd_kafka_mock_broker_set_up(cluster, 1)
    elif words[0] == "topic" and len(words) == 3:
        lib.rd_kafka_mock_topic_create(cluster, words[1].encode(), int(words[2]), 1)
    elif words[0] == "topic-error" and len(words) == 3:
        lib.rd_kafka_mock_topic_set_error(cluster, words[1].encode(), int(words[2]))
    else:
        print(f"error unknown command {line.strip()}", flush=True)
        continue
    print("ok " + " ".join(words), flush=True)
