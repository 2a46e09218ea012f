/**
 * A run's simulated clients (actors.ts), one per scenario actor, created on first use with the
 * run's credentials, and the protocol-independent faces the steps use: a sender for publishers
 * and an inbox for consumers.
 */
import { AmqpActor, HttpActor, MqttActor, type ActorCredentials, type DemoEndpoints } from './actors.ts';
import { clientIdOf } from './run-state.ts';
import type { Scenario, ScenarioActor } from './scenario-schema.ts';

/** A message a consumer actor holds, whatever its protocol. */
export interface InboxMessage {
  readonly payload: string;
  ack(): Promise<void>;
  reject(error: string): Promise<void>;
  crash(): void;
}

/** How a consumer actor takes messages from a queue. */
export interface Inbox {
  receive(queue: string, max: number, crash: boolean): Promise<InboxMessage[]>;
  end(queue: string): Promise<void>;
}

/** The clients of one run. */
export class ActorPool {
  private readonly mqttActors = new Map<string, MqttActor>();
  private readonly httpActors = new Map<string, HttpActor>();
  private readonly amqpActors = new Map<string, AmqpActor>();

  constructor(
    private readonly scenario: Scenario,
    private endpoints: DemoEndpoints,
    private readonly credentials: ActorCredentials | undefined,
  ) {}

  /** Points new clients at a (restarted) broker; HTTP and AMQP clients are made afresh. */
  retarget(endpoints: DemoEndpoints): void {
    this.endpoints = endpoints;
    this.httpActors.clear();
    for (const actor of this.amqpActors.values()) void actor.close();
    this.amqpActors.clear();
  }

  /** Disconnects the MQTT and AMQP clients (persistent sessions stay on the broker). */
  async close(): Promise<void> {
    await Promise.all([...this.mqttActors.values(), ...this.amqpActors.values()].map((actor) => actor.close()));
    this.mqttActors.clear();
    this.amqpActors.clear();
  }

  mqtt(id: string): MqttActor {
    let actor = this.mqttActors.get(id);
    if (!actor) {
      if (!this.endpoints.mqttUrl) throw new Error('the MQTT listener is not enabled; MQTT actors cannot run');
      actor = new MqttActor(this.endpoints.mqttUrl, clientIdOf(this.scenario.name, id), this.credentials);
      this.mqttActors.set(id, actor);
    }
    return actor;
  }

  amqp(id: string): AmqpActor {
    let actor = this.amqpActors.get(id);
    if (!actor) {
      if (!this.endpoints.amqpUrl)
        throw new Error(
          `the AMQP listener is not enabled (amqp.enabled is off), so the AMQP actor "${id}" cannot run; enable it to run this scenario`,
        );
      actor = new AmqpActor(this.endpoints.amqpUrl, clientIdOf(this.scenario.name, id), this.credentials);
      this.amqpActors.set(id, actor);
    }
    return actor;
  }

  http(id: string): HttpActor {
    let actor = this.httpActors.get(id);
    if (!actor) this.httpActors.set(id, (actor = new HttpActor(this.endpoints.httpUrl, this.credentials)));
    return actor;
  }

  /** The function an actor publishes with, on its own protocol. */
  async sender(actor: ScenarioActor): Promise<(topic: string, payload: string, retain: boolean) => Promise<void>> {
    if (actor.protocol === 'mqtt') {
      const client = this.mqtt(actor.id);
      if (!client.isConnected) await client.connect(false);
      return (topic, payload, retain) => client.publish(topic, payload, retain);
    }
    if (actor.protocol === 'amqp') throw new Error(`${actor.label} is an AMQP consumer; it does not publish`);
    if (actor.protocol === 'http-push') throw new Error(`${actor.label} is an HTTP endpoint; it does not publish`);
    const client = this.http(actor.id);
    return (topic, payload) => client.publish(topic, payload);
  }

  /**
   * How a consumer actor takes messages from a queue on its own protocol. HTTP: pull receive
   * (a 100 ms visibility timeout stands for a consumer that dies holding the message) and
   * ack / reject, each answered after the commit. AMQP: a `queue://` receiver, settled
   * accepted / rejected (with the error as description) / modified{delivery-failed} for a crash;
   * at the end of the step the receiver detaches (what it held unsettled goes back to the queue)
   * and `settled(queue)` waits until the broker has applied every settlement (nothing in flight).
   */
  inbox(actor: ScenarioActor, settled: (queue: string) => Promise<void>): Inbox {
    if (actor.protocol === 'amqp') {
      const client = this.amqp(actor.id);
      return {
        receive: async (queue, max) =>
          (await client.receive(queue, max)).map((message) => ({
            payload: message.payload,
            ack: async () => message.accept(),
            reject: async (error) => message.reject(error),
            crash: () => message.fail(),
          })),
        end: async (queue) => {
          await client.detach(queue);
          await settled(queue);
        },
      };
    }
    const client = this.http(actor.id);
    return {
      receive: async (queue, max, crash) =>
        (await client.receive(queue, max, crash ? 100 : 30_000)).map(({ deliveryId, message }) => ({
          payload: message.payload,
          ack: () => client.ack(queue, deliveryId),
          reject: (error) => client.reject(queue, deliveryId, error),
          crash: () => undefined, // never settled: the visibility timeout fails the attempt
        })),
      end: async () => undefined,
    };
  }
}

/** How an actor reaches the broker, for the narration. */
export function via(actor: ScenarioActor): string {
  return actor.protocol === 'mqtt'
    ? 'MQTT'
    : actor.protocol === 'amqp'
      ? 'AMQP 1.0'
      : actor.protocol === 'http-push'
        ? 'HTTP push'
        : 'HTTP';
}
