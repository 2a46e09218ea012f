/** Publish: compose a test message with every property and send it through the broker. */
import type { ReactNode } from 'react';
import { PublishForm } from '../components/PublishForm.tsx';

export function Publish(): ReactNode {
  return (
    <section className="view" aria-label="Publish">
      <div className="panel" style={{ maxWidth: 980 }}>
        <p className="muted" style={{ marginTop: 0 }}>
          The message is routed like any other: every queue whose subscriptions match the topic gets it, MQTT, AMQP and
          HTTP subscribers alike.
        </p>
        <PublishForm />
      </div>
    </section>
  );
}
