/**
 * Demo: the training scenarios (resources/scenarios/). Pick one, read its narrated steps, press
 * Start; each step lights up as the simulated plant systems run it, and the final check says
 * pass or fail with its numbers. Made to be read from the back of a classroom: large type, one
 * colour per state. The run's status is polled at 2 Hz while it runs (docs/demo.md).
 */
import { useEffect, useState, type ReactNode } from 'react';
import type { DemoScenario, DemoStatus } from '../../../core/api/contract.ts';
import { useBroker, useOperation } from '../api/hooks.ts';
import { ErrorNotice, Notice, Progress } from '../components/bits.tsx';

const stateMark = { pending: '', running: '▶', done: '✓', failed: '✗', skipped: '–' } as const;
const speeds = [1, 10, 60, 300, 600, 1200, 3600] as const;

export function Demo(): ReactNode {
  const { api, live } = useBroker();
  const list = useOperation('demo.list', {});
  const [status, setStatus] = useState<DemoStatus>();
  const [selected, setSelected] = useState<string>();
  const [speed, setSpeed] = useState<number>();
  const [notice, setNotice] = useState<{ ok: boolean; text: string }>();
  const running = status?.state === 'running';

  // The run's progress: polled at 2 Hz while it runs, once otherwise.
  useEffect(() => {
    let stopped = false;
    const load = () =>
      api.call('demo.status', {}).then(
        (next) => {
          if (!stopped) setStatus(next);
        },
        () => undefined,
      );
    void load();
    const timer = running ? setInterval(load, 500) : undefined;
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [api, running]);

  const scenarios = list.data?.scenarios ?? [];
  const current = scenarios.find((s) => s.name === (selected ?? status?.scenario ?? scenarios[0]?.name));
  const runOfCurrent = status && current && status.scenario === current.name ? status : undefined;

  const start = async () => {
    if (!current) return;
    setNotice(undefined);
    try {
      setStatus(await api.call('demo.start', { name: current.name, speed: speed ?? current.defaultSpeed }));
      live.touch('queues', 'dead', 'replays');
    } catch (error) {
      setNotice({ ok: false, text: (error as Error).message });
    }
  };
  const stop = async () => setStatus(await api.call('demo.stop', {}));
  const reset = async () => {
    if (!current) return;
    try {
      const out = await api.call('demo.reset', { name: current.name });
      setNotice({
        ok: true,
        text: `Reset ${out.name}: ${out.deletedQueues.length} queue(s) deleted, ${out.purgedDead} dead message(s) purged.`,
      });
      live.touch('queues', 'dead');
    } catch (error) {
      setNotice({ ok: false, text: (error as Error).message });
    }
  };

  return (
    <section className="view demo" aria-label="Demo">
      <ErrorNotice error={list.error} />
      <div className="demo-layout">
        <nav className="panel demo-list" aria-label="Scenarios">
          <h3>Scenarios</h3>
          {scenarios.map((s, i) => (
            <button
              key={s.name}
              className="demo-pick"
              aria-current={s.name === current?.name ? 'true' : undefined}
              onClick={() => setSelected(s.name)}
              data-scenario={s.name}
            >
              <span className="demo-pick-number">{i + 1}</span>
              <span>
                <strong>{s.title}</strong>
                {status?.scenario === s.name && status.state !== 'idle' && <RunBadge state={status.state} />}
              </span>
            </button>
          ))}
        </nav>
        {current && (
          <div className="stack demo-main">
            <div className="panel demo-head">
              <div className="row">
                <h2>{current.title}</h2>
                <span className="spacer" />
                {runOfCurrent?.plantClock && (
                  <span className="demo-clock" aria-label="Plant clock" title="Plant clock (time-compressed)">
                    {runOfCurrent.plantClock}
                  </span>
                )}
              </div>
              <p className="demo-summary">{current.summary}</p>
              <div className="row">
                {current.actors.map((actor) => (
                  <span key={actor.id} className={`demo-actor ${actor.system}`}>
                    {actor.label} <span className="muted">· {actor.protocol.toUpperCase()}</span>
                  </span>
                ))}
                <span className="spacer" />
                <label className="row demo-speed">
                  Speed
                  <select
                    value={speed ?? current.defaultSpeed}
                    onChange={(e) => setSpeed(Number(e.target.value))}
                    disabled={running}
                  >
                    {[...new Set([...speeds, current.defaultSpeed])]
                      .sort((a, b) => a - b)
                      .map((factor) => (
                        <option key={factor} value={factor}>
                          ×{factor}
                        </option>
                      ))}
                  </select>
                </label>
                {running ? (
                  <button className="danger" onClick={() => void stop()}>
                    Stop
                  </button>
                ) : (
                  <>
                    <button onClick={() => void reset()}>Reset</button>
                    <button className="primary demo-start" onClick={() => void start()}>
                      Start
                    </button>
                  </>
                )}
              </div>
              {runOfCurrent?.runAs && <RunAs run={runOfCurrent} runAs={runOfCurrent.runAs} />}
              <Notice notice={notice} />
            </div>
            <Steps scenario={current} run={runOfCurrent} />
            {runOfCurrent && runOfCurrent.state !== 'running' && <Outcome run={runOfCurrent} />}
          </div>
        )}
      </div>
    </section>
  );
}

/** Who the simulated clients log in as, and what their role lets them do (docs/demo.md: Security). */
function RunAs(props: { run: DemoStatus; runAs: NonNullable<DemoStatus['runAs']> }): ReactNode {
  const { runAs } = props;
  const live = props.run.state === 'running';
  return (
    <div className="demo-run-as" data-testid="demo-run-as">
      {runAs.user === null ? (
        <span className="muted">
          The simulated clients connect without credentials: this broker has no security store.
        </span>
      ) : (
        <span>
          The simulated clients {live ? 'log in' : 'logged in'} as user <strong className="mono">{runAs.user}</strong>{' '}
          with role <strong className="mono">{runAs.role}</strong>, limited to this scenario
          {live ? '' : ' (both removed when the run ended)'}:
        </span>
      )}
      <ul>
        {runAs.rules.map((rule) => (
          <li key={rule.actions.join(',')}>
            <span className="demo-run-as-action">{rule.actions.join(', ')}</span>{' '}
            <span className="mono">{rule.patterns.join(' · ')}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

function RunBadge(props: { state: DemoStatus['state'] }): ReactNode {
  const tone = props.state === 'passed' ? 'ok' : props.state === 'running' ? 'warn' : 'danger';
  return <span className={`badge ${tone} demo-run-badge`}>{props.state}</span>;
}

/** The narrated steps; with a run, each with its state, what it did and its progress. */
function Steps(props: { scenario: DemoScenario; run: DemoStatus | undefined }): ReactNode {
  return (
    <ol className="panel demo-steps" aria-label="Steps">
      {props.scenario.steps.map((step, i) => {
        const run = props.run?.steps[i];
        const state = run?.state ?? 'pending';
        return (
          <li key={i} className={`demo-step ${state}`} data-state={state}>
            <span className="demo-step-mark" aria-hidden>
              {stateMark[state] || i + 1}
            </span>
            <div className="stack demo-step-body">
              <div className="demo-narration">{run?.narration ?? step.narration}</div>
              {run?.detail && <div className="muted mono demo-detail">{run.detail}</div>}
              {run?.progress && run.progress.total > 0 && (
                <div className="row demo-progress">
                  <Progress done={run.progress.done} total={run.progress.total} label={`Step ${i + 1}`} />
                  <span className="num">
                    {run.progress.done} / {run.progress.total}
                  </span>
                </div>
              )}
            </div>
          </li>
        );
      })}
    </ol>
  );
}

/** The final check: pass or fail, and each check's expected and actual numbers. */
function Outcome(props: { run: DemoStatus }): ReactNode {
  const { run } = props;
  const passed = run.state === 'passed';
  const took = run.finishedAt !== null && run.startedAt !== null ? (run.finishedAt - run.startedAt) / 1000 : 0;
  return (
    <div className={`panel demo-outcome ${passed ? 'pass' : 'fail'}`} role="status" aria-label="Outcome">
      <div className="row">
        <span className="demo-verdict">{passed ? '✓ PASSED' : run.state === 'stopped' ? '■ STOPPED' : '✗ FAILED'}</span>
        <span className="muted">
          {run.checks.filter((c) => c.pass).length} of {run.checks.length} checks passed · {took.toFixed(1)} s at ×
          {run.speed}
        </span>
      </div>
      {run.error && <div className="demo-error">{run.error}</div>}
      <table className="demo-checks">
        <thead>
          <tr>
            <th />
            <th>Check</th>
            <th>Expected</th>
            <th>Actual</th>
          </tr>
        </thead>
        <tbody>
          {run.checks.map((check, i) => (
            <tr key={i} className={check.pass ? 'pass' : 'fail'}>
              <td>{check.pass ? '✓' : '✗'}</td>
              <td>{check.label}</td>
              <td className="mono">{check.expected}</td>
              <td className="mono">{check.actual}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
