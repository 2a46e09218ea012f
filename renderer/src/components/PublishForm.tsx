/**
 * Compose and send a message: topic, payload as text, JSON or hex, and the message properties.
 * Ctrl+Enter sends from anywhere in the form. Used by the Publish view and the Topics detail.
 */
import { useState, type FormEvent, type KeyboardEvent, type ReactNode } from 'react';
import type { OperationOutput } from '../../../core/api/contract.ts';
import { useBroker } from '../api/hooks.ts';
import { Notice } from './bits.tsx';
import { compose, emptyCompose, type ComposeFields, type PayloadFormat } from '../logic/compose.ts';
import { refusalNotice } from '../logic/session.ts';

export function PublishForm(props: { topic?: string; compact?: boolean }): ReactNode {
  const { api, live } = useBroker();
  const [fields, setFields] = useState<ComposeFields>({ ...emptyCompose, topic: props.topic ?? '' });
  const [result, setResult] = useState<{ ok: boolean; text: string; denied?: boolean }>();
  const [busy, setBusy] = useState(false);
  const topic = props.topic ?? fields.topic;
  const set = <K extends keyof ComposeFields>(key: K, value: ComposeFields[K]) =>
    setFields((current) => ({ ...current, [key]: value }));

  const send = async (event?: FormEvent) => {
    event?.preventDefault();
    const composed = compose({ ...fields, topic });
    if (!composed.ok) return setResult({ ok: false, text: composed.problem });
    setBusy(true);
    try {
      const receipt: OperationOutput<'messages.publish'> = await api.call('messages.publish', composed.input);
      const to = receipt.queues.length > 0 ? `enqueued to ${receipt.queues.join(', ')}` : 'no queue subscribes to it';
      setResult({ ok: true, text: `Published as message ${receipt.id}; ${to}.` });
      live.touch('queues');
    } catch (error) {
      setResult(refusalNotice(error));
    } finally {
      setBusy(false);
    }
  };

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) void send();
  };

  return (
    <form className="stack" onSubmit={send} onKeyDown={onKeyDown} aria-label="Publish a message">
      {props.topic === undefined && (
        <label className="field">
          Topic
          <input
            value={fields.topic}
            onChange={(e) => set('topic', e.target.value)}
            placeholder="plant/line1/temperature"
            className="mono"
            required
          />
        </label>
      )}
      <div className="row">
        <span className="muted" style={{ fontSize: 13, fontWeight: 600 }}>
          Payload as
        </span>
        {(['text', 'json', 'hex'] as PayloadFormat[]).map((format) => (
          <label key={format} className="check">
            <input
              type="radio"
              name="format"
              checked={fields.format === format}
              onChange={() => set('format', format)}
            />
            {format === 'json' ? 'JSON' : format === 'hex' ? 'Hex bytes' : 'Text'}
          </label>
        ))}
      </div>
      <textarea
        aria-label="Payload"
        rows={props.compact ? 4 : 8}
        value={fields.payload}
        onChange={(e) => set('payload', e.target.value)}
        placeholder={
          fields.format === 'hex' ? '01 03 00 00 00 0a c5 cd' : fields.format === 'json' ? '{"temp": 21.5}' : ''
        }
      />
      {!props.compact && (
        <div className="form">
          <label className="field">
            Content type
            <input
              value={fields.contentType}
              onChange={(e) => set('contentType', e.target.value)}
              placeholder="automatic"
            />
          </label>
          <label className="field">
            TTL (seconds)
            <input
              value={fields.ttlSeconds}
              onChange={(e) => set('ttlSeconds', e.target.value)}
              placeholder="none"
              inputMode="decimal"
            />
          </label>
          <label className="field">
            Priority (0–9)
            <input
              value={fields.priority}
              onChange={(e) => set('priority', e.target.value)}
              placeholder="4"
              inputMode="numeric"
            />
          </label>
          <label className="field">
            Correlation id
            <input value={fields.correlationId} onChange={(e) => set('correlationId', e.target.value)} />
          </label>
          <label className="field">
            Reply to
            <input value={fields.replyTo} onChange={(e) => set('replyTo', e.target.value)} />
          </label>
          <label className="field wide">
            Headers (one “name: value” per line)
            <textarea rows={3} value={fields.headers} onChange={(e) => set('headers', e.target.value)} />
          </label>
          <label className="check wide">
            <input
              type="checkbox"
              checked={fields.dmqEligible}
              onChange={(e) => set('dmqEligible', e.target.checked)}
            />
            DMQ-eligible: if it dies in a queue, keep it as a dead message (otherwise it is discarded and counted)
          </label>
        </div>
      )}
      <div className="row">
        <button className="primary" type="submit" disabled={busy}>
          Publish
        </button>
        <span className="muted" style={{ fontSize: 13 }}>
          Ctrl+Enter · durable: acknowledged after the commit
        </span>
      </div>
      <Notice notice={result} />
    </form>
  );
}
