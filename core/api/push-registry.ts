import type {
  PushConsumerConfig,
  PushConsumerConfigInput,
  PushConsumerView,
  PushStatus,
} from '../schema/push-config.ts';

/** What the service needs from the push consumers (core/protocols/push implements it). */
export interface PushRegistry {
  list(queue?: string): PushConsumerView[];
  get(name: string): PushConsumerView;
  put(input: PushConsumerConfigInput, by: { user: string | null }): Promise<PushConsumerView>;
  delete(name: string): Promise<void>;
  statuses(): PushStatus[];
  /** Every configuration with its secrets (config export with secrets, undoing an import). */
  configs(): PushConsumerConfig[];
}
