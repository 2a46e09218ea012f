/**
 * The Kafka bridge form in the Bridges view: bootstrap brokers, client id, SASL and TLS, the
 * outbound topic mapping and key, the inbound topics and group, a rate limit. It checks the entry
 * with the broker's own schema and shows the JSON to add to the `bridges` section of the config
 * file (bridges are declared there; docs/bridges.md).
 */
import { useState, type ReactNode } from 'react';
import {
  kafkaBridgeOf,
  kafkaTopicExample,
  newKafkaBridgeFields,
  type KafkaBridgeFields,
} from '../logic/kafka-bridge-form.ts';

export function KafkaBridgeForm(): ReactNode {
  const [fields, setFields] = useState<KafkaBridgeFields>(newKafkaBridgeFields);
  const [copied, setCopied] = useState(false);
  const set = <K extends keyof KafkaBridgeFields>(key: K, value: KafkaBridgeFields[K]) => {
    setCopied(false);
    setFields((current) => ({ ...current, [key]: value }));
  };
  const result = kafkaBridgeOf(fields);
  const outbound = fields.direction !== 'in';
  const inbound = fields.direction !== 'out';
  return (
    <details className="panel kafka-bridge-form" aria-label="New Kafka bridge">
      <summary>
        <strong>New Kafka bridge…</strong> <span className="muted">writes the entry for the config file</span>
      </summary>
      <div className="form">
        <label className="field">
          Name
          <input className="mono" value={fields.name} onChange={(e) => set('name', e.target.value)} />
        </label>
        <label className="field">
          Direction
          <select
            value={fields.direction}
            onChange={(e) => set('direction', e.target.value as KafkaBridgeFields['direction'])}
          >
            <option value="out">Out: Sluice → Kafka</option>
            <option value="in">In: Kafka → Sluice</option>
            <option value="both">Both</option>
          </select>
        </label>
        <label className="field wide">
          Bootstrap brokers (host:port, comma separated)
          <input className="mono" value={fields.brokers} onChange={(e) => set('brokers', e.target.value)} />
        </label>
        <label className="field">
          Client id
          <input
            className="mono"
            value={fields.clientId}
            onChange={(e) => set('clientId', e.target.value)}
            placeholder="sluice-<broker id>-<name>"
          />
        </label>
        <label className="field">
          SASL
          <select value={fields.sasl} onChange={(e) => set('sasl', e.target.value as KafkaBridgeFields['sasl'])}>
            <option value="">None</option>
            <option value="plain">PLAIN</option>
            <option value="scram-sha-256">SCRAM-SHA-256</option>
            <option value="scram-sha-512">SCRAM-SHA-512</option>
          </select>
        </label>
        {fields.sasl && (
          <>
            <label className="field">
              User name
              <input value={fields.username} onChange={(e) => set('username', e.target.value)} />
            </label>
            <label className="field">
              Password
              <input type="password" value={fields.password} onChange={(e) => set('password', e.target.value)} />
            </label>
          </>
        )}
        <label className="field">
          <span>
            <input type="checkbox" checked={fields.tls} onChange={(e) => set('tls', e.target.checked)} /> TLS
          </span>
        </label>
        {fields.tls && (
          <label className="field wide">
            CA certificate (PEM file path)
            <input className="mono" value={fields.ca} onChange={(e) => set('ca', e.target.value)} />
          </label>
        )}
        {outbound && (
          <>
            <label className="field">
              Sluice topic filter
              <input className="mono" value={fields.filter} onChange={(e) => set('filter', e.target.value)} />
            </label>
            <label className="field">
              Kafka topic ({'{1}'}, {'{2}'}… topic levels, {'{topic}'})
              <input className="mono" value={fields.kafkaTopic} onChange={(e) => set('kafkaTopic', e.target.value)} />
            </label>
            <label className="field">
              Message key
              <select
                value={fields.keyFrom}
                onChange={(e) => set('keyFrom', e.target.value as KafkaBridgeFields['keyFrom'])}
              >
                <option value="topic">The Sluice topic</option>
                <option value="level">A topic level</option>
                <option value="header">A header</option>
                <option value="none">None (no order)</option>
              </select>
            </label>
            {(fields.keyFrom === 'level' || fields.keyFrom === 'header') && (
              <label className="field">
                {fields.keyFrom === 'level' ? 'Level (1 = first)' : 'Header name'}
                <input className="mono" value={fields.keyOf} onChange={(e) => set('keyOf', e.target.value)} />
              </label>
            )}
            <div className="field wide muted" data-testid="kafka-topic-example">
              e.g. {kafkaTopicExample(fields)}
            </div>
          </>
        )}
        {inbound && (
          <>
            <label className="field wide">
              Kafka topics to consume (comma separated)
              <input
                className="mono"
                value={fields.consumeTopics}
                onChange={(e) => set('consumeTopics', e.target.value)}
              />
            </label>
            <label className="field">
              Consumer group
              <input
                className="mono"
                value={fields.groupId}
                onChange={(e) => set('groupId', e.target.value)}
                placeholder="sluice-<name>"
              />
            </label>
          </>
        )}
        <label className="field">
          Rate limit (messages/s)
          <input
            value={fields.messagesPerSecond}
            onChange={(e) => set('messagesPerSecond', e.target.value)}
            placeholder="unlimited"
          />
        </label>
      </div>
      {result.ok ? (
        <>
          <p className="muted">
            Add this to the <code>bridges</code> array of the broker&rsquo;s config file and restart the broker:
          </p>
          <pre className="mono" data-testid="kafka-bridge-json">
            {result.json}
          </pre>
          <button
            type="button"
            onClick={() => {
              void navigator.clipboard?.writeText(result.json).then(() => setCopied(true));
            }}
          >
            {copied ? 'Copied' : 'Copy'}
          </button>
        </>
      ) : (
        <ul className="bridge-error" data-testid="kafka-bridge-problems">
          {result.problems.map((problem) => (
            <li key={problem}>{problem}</li>
          ))}
        </ul>
      )}
    </details>
  );
}
