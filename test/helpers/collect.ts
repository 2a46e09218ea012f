import type { Delivery } from '../../core/engine/consumer.ts';
import type { Engine } from '../../core/engine/engine.ts';
import type { ConsumerOptions } from '../../core/engine/consumer.ts';

/** Attaches a consumer that records every delivery it receives. */
export function collectingConsumer(engine: Engine, queue: string, options: Partial<ConsumerOptions> = {}) {
  const deliveries: Delivery[] = [];
  const consumer = engine.consume(queue, {
    ...options,
    onDelivery: (d) => {
      deliveries.push(d);
      options.onDelivery?.(d);
    },
  });
  return { consumer, deliveries };
}
