import { allocate } from '../../register/allocate.ts';
import type { PortDefinition } from '../../register/conflicts/definition.ts';
import type { RegisterPolicy } from '../../register/policy.ts';
import type { Protocol } from '../../register/port-record.ts';
import type { RegisterReading } from './register-view.ts';

/** What advice is computed from: the object's service and environment, and one reading of the register. */
export interface AdviceContext {
  service: string;
  env: string;
  policy: RegisterPolicy;
  reading: RegisterReading;
  now: number;
}

/**
 * What to do about a finding: who owns a number held by another service, and what to ask
 * for instead. The number offered is the one `portwarden ports request` would give the port
 * (the register's stable allocation, computed without writing anything), so the command
 * printed gets exactly that number while nobody takes it first.
 */
export function adviceFor(item: { rule: string; number: number }, def: PortDefinition | undefined, context: AdviceContext): string {
  const protocol = def?.protocol ?? 'tcp';
  switch (item.rule) {
    case 'port_conflict':
    case 'cooling_down': {
      const owner = ownerOf(item.number, protocol, context);
      return [owner ? `owner ${owner}` : '', instead(def, context)].filter(Boolean).join('; ');
    }
    case 'reserved_port':
    case 'out_of_range':
      return instead(def, context);
    case 'assignment_mismatch': {
      const registered = def?.name !== undefined && context.reading.ports.some((port) => port.service === context.service && port.name === def.name && port.env === context.env && live.has(port.state));
      if (registered) return `use the registered number, or move the port on purpose: portwarden ports transition ${context.service}/${def?.name} --to ${item.number} --window 1h --env ${context.env}`;
      return `use a registered number, or request this one: ${requestCommand(context, def?.name, item.number, protocol)}`;
    }
    case 'duplicate_in_inputs':
      return 'give each its own number';
    case 'unregistered_service':
      return `request it: ${requestCommand(context, def?.name, item.number, protocol)} --owner <team>`;
    default:
      return '';
  }
}

const live = new Set(['requested', 'active', 'transitioning']);

/** The number the register would give this port, and the command that asks for it. */
function instead(def: PortDefinition | undefined, context: AdviceContext): string {
  const { service, env, policy, reading, now } = context;
  const protocol = def?.protocol ?? 'tcp';
  if (!def?.name) return `name the port and ask the register for its number: ${requestCommand(context, undefined, undefined, protocol)}`;
  const result = allocate({ service, name: def.name, env, protocol }, policy, reading.index, now);
  if (!result.ok) return `the register has no number for ${service}/${def.name} in ${env}: ${result.message}`;
  if (result.source === 'existing') return `use ${result.number}, the register's number for ${service}/${def.name}`;
  const range = result.range ? ` in range ${result.range}` : '';
  return `${result.number} is free for ${service}/${def.name}${range}: ${requestCommand(context, def.name, result.number, protocol)}`;
}

function requestCommand(context: AdviceContext, name: string | undefined, number: number | undefined, protocol: Protocol): string {
  const parts = ['portwarden ports request', `--service ${context.service}`, `--name ${name ?? '<name>'}`];
  if (number !== undefined) parts.push(`--number ${number}`);
  parts.push(`--env ${context.env}`);
  if (protocol !== 'tcp') parts.push(`--protocol ${protocol}`);
  return parts.join(' ');
}

/** The owner of whichever other service holds, or last released, the number. */
function ownerOf(number: number, protocol: Protocol, context: AdviceContext): string | undefined {
  const holders = context.reading.ports.filter(
    (port) =>
      port.env === context.env &&
      port.protocol === protocol &&
      port.service !== context.service &&
      (port.number === number || port.transition?.to === number || port.previous_numbers.some((previous) => previous.number === number)),
  );
  const holding = holders.find((port) => live.has(port.state));
  return (holding ?? holders.at(-1))?.owner;
}
