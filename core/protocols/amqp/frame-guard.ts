import type { Duplex } from 'node:stream';

/** Why the guard stopped a connection. */
export interface FrameViolation {
  /** AMQP 1.0 §2.8.15 connection error condition. */
  readonly condition: 'amqp:connection:framing-error' | 'amqp:frame-size-too-small';
  readonly description: string;
}

/**
 * Watches the raw bytes of one connection for frame sizes, before rhea buffers them: rhea 3.0.5
 * reads a frame's 32-bit size and waits for that many bytes, so one forged header could make it
 * buffer up to 4 GiB. Protocol headers (`AMQP` + 4 bytes, SASL and AMQP layers) pass; a frame
 * larger than `maxFrameSize` or smaller than its own 8-byte header is reported (AMQP 1.0 §2.3.1,
 * §2.7.1: a peer must not send frames larger than the max-frame-size it was told).
 */
export function guardFrames(socket: Duplex, maxFrameSize: number, violated: (violation: FrameViolation) => void): void {
  let bodyLeft = 0;
  let head = Buffer.alloc(0);
  let stopped = false;
  // Prepended: runs before rhea's own 'data' listener on the same chunk.
  socket.prependListener('data', (chunk: Buffer) => {
    let offset = 0;
    while (!stopped && offset < chunk.length) {
      if (bodyLeft > 0) {
        const n = Math.min(bodyLeft, chunk.length - offset);
        bodyLeft -= n;
        offset += n;
        continue;
      }
      const n = Math.min(8 - head.length, chunk.length - offset);
      head = Buffer.concat([head, chunk.subarray(offset, offset + n)]);
      offset += n;
      if (head.length < 8) return;
      const isProtocolHeader = head.subarray(0, 4).toString('latin1') === 'AMQP';
      if (!isProtocolHeader) {
        const size = head.readUInt32BE(0);
        if (size < 8) {
          stopped = true;
          violated({ condition: 'amqp:connection:framing-error', description: `frame size ${size} is below 8 bytes` });
        } else if (size > maxFrameSize) {
          stopped = true;
          violated({
            condition: 'amqp:connection:framing-error',
            description: `frame of ${size} bytes exceeds max-frame-size ${maxFrameSize}`,
          });
        } else bodyLeft = size - 8;
      }
      head = Buffer.alloc(0);
    }
  });
}
