# A qpid-proton (Debian python3-qpid-proton) client for amqp-qpid-proton.test.ts.
# Usage: /usr/bin/python3 amqp-proton-client.py <mode> <url> [args...]; prints one JSON line per fact.
import json
import sys

from proton import Message, symbol
from proton.reactor import Container, DurableSubscription, Filter
from proton.utils import BlockingConnection

mode, url = sys.argv[1], sys.argv[2]
args = sys.argv[3:]


def out(**fact):
    print(json.dumps(fact), flush=True)


def text(m):
    return m.body if isinstance(m.body, str) else bytes(m.body).decode()


def connection(container_id=None):
    container = Container()
    if container_id:
        container.container_id = container_id
    return BlockingConnection(url, timeout=10, container=container)


if mode == 'send':
    conn = connection()
    sender = conn.create_sender(args[0])
    for i in range(int(args[1])):
        sender.send(Message(body='py-%d' % i, id='py-id-%d' % i, correlation_id='c-%d' % i,
                            properties={'seq': i, 'plant': 'north'}, content_type='text/plain'))
    out(sent=int(args[1]))
    conn.close()
elif mode == 'receive':
    conn = connection()
    receiver = conn.create_receiver(args[0], credit=int(args[1]))
    for _ in range(int(args[1])):
        m = receiver.receive(timeout=10)
        receiver.accept()
        out(body=text(m), id=m.id,
            correlation_id=m.correlation_id, properties=m.properties, content_type=m.content_type,
            delivery_count=m.delivery_count)
    conn.close()
elif mode == 'outcomes':
    # One receiver; settle four deliveries with accept, reject, release, modified{delivery-failed}.
    conn = connection()
    # No prefetch: receive() grants one credit at a time, so nothing is redelivered to this link.
    receiver = conn.create_receiver(args[0], credit=None)
    for outcome in ['accept', 'reject', 'release', 'modified']:
        m = receiver.receive(timeout=10)
        out(outcome=outcome, body=text(m), delivery_count=m.delivery_count)
        if outcome == 'accept':
            receiver.accept()
        elif outcome == 'reject':
            receiver.reject()
        elif outcome == 'release':
            receiver.release(delivered=False)
        else:
            # modified{delivery-failed: true}: proton sends it for a released delivery marked failed.
            receiver.fetcher.unsettled[0].local.failed = True
            receiver.release(delivered=True)
    conn.close()
elif mode == 'same-name':
    # qpid-proton names both links of a request/reply pair alike: legal (link identity is name + role).
    conn = connection()
    sender = conn.create_sender(args[0], name='pair')
    receiver = conn.create_receiver(args[0], name='pair', credit=1)
    sender.send(Message(body='echo'))
    m = receiver.receive(timeout=10)
    receiver.accept()
    out(body=m.body)
    conn.close()
elif mode == 'durable-subscribe':
    conn = connection(args[1])
    receiver = conn.create_receiver(args[0], name=args[2], options=DurableSubscription())
    receiver.link.detach()
    conn.close()
    out(subscribed=True)
elif mode == 'durable-receive':
    conn = connection(args[1])
    receiver = conn.create_receiver(args[0], name=args[2], options=DurableSubscription(), credit=int(args[3]))
    for _ in range(int(args[3])):
        m = receiver.receive(timeout=10)
        receiver.accept()
        out(body=text(m))
    conn.close()
elif mode == 'replay':
    conn = connection()
    receiver = conn.create_receiver(args[0], credit=int(args[2]),
                                    options=Filter({symbol('sluice-replay-from'): 'timestamp:%s' % args[1]}))
    for _ in range(int(args[2])):
        m = receiver.receive(timeout=10)
        receiver.accept()
        out(body=text(m), replayed=m.properties.get('sluice-replayed'))
    conn.close()
else:
    raise SystemExit('unknown mode ' + mode)
