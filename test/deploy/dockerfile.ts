/** One Dockerfile instruction: its keyword (upper case) and its arguments as written, continuations joined. */
export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** A build stage: its base image (global ARG defaults substituted), its name, its instructions. */
export interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

/**
 * A small Dockerfile reader for tests: comments, `\` continuations, global `ARG NAME=default`
 * substituted into `FROM`. Enough to ask what the image copies, runs and starts; not a
 * replacement for the real parser.
 */
export function parseDockerfile(text: string): { args: Record<string, string>; stages: Stage[] } {
  const instructions: Instruction[] = [];
  let pending: Instruction | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && pending === undefined)) return;
    const continues = line.endsWith('\\');
    const body = continues ? line.slice(0, -1).trim() : line;
    if (pending) pending.args = `${pending.args} ${body}`.trim();
    else {
      const match = /^(\S+)\s*(.*)$/.exec(body);
      pending = { keyword: (match?.[1] ?? '').toUpperCase(), args: match?.[2] ?? '', line: index + 1 };
    }
    if (!continues) {
      instructions.push(pending);
      pending = undefined;
    }
  });
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [image = '', as, name] = instruction.args.split(/\s+/);
      const resolved = image.replace(/\$\{?(\w+)\}?/g, (_, key: string) => args[key] ?? '');
      stages.push({ image: resolved, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else if (stages.length === 0) {
      const arg = instruction.keyword === 'ARG' ? /^(\w+)=(\S+)$/.exec(instruction.args) : null;
      if (arg?.[1] && arg[2] !== undefined) args[arg[1]] = arg[2];
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return { args, stages };
}
