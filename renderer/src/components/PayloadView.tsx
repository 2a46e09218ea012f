/** A payload shown for reading: JSON pretty-printed, text as is, binary as a hex dump. */
import type { ReactNode } from 'react';
import type { WireMessage } from '../../../core/api/contract.ts';
import { bytes } from '../logic/format.ts';
import { showPayload } from '../logic/payload.ts';

export function PayloadView(props: {
  payload: string;
  encoding: WireMessage['payloadEncoding'];
  /** The whole payload's size, when `payload` is only a preview of it. */
  totalBytes?: number;
  truncated?: boolean;
}): ReactNode {
  const shown = showPayload(props.payload, props.encoding);
  const kind = { json: 'JSON', text: 'Text', binary: 'Binary (hex)', empty: 'Empty' }[shown.kind];
  return (
    <div className="stack" style={{ gap: 6 }}>
      <div className="row muted" style={{ fontSize: 13 }}>
        <span className="badge">{kind}</span>
        <span>{bytes(props.totalBytes ?? shown.bytes)}</span>
        {props.truncated && <span>· preview of the first {bytes(shown.bytes)}</span>}
      </div>
      <pre className="payload" data-testid="payload">
        {shown.text}
      </pre>
    </div>
  );
}
