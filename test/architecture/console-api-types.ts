/**
 * The console's types of the API's answers (`src/authority/console/web/api-types.d.ts`, checked
 * against the DOM, where the server's modules cannot be loaded) are written by hand. This file,
 * which `npm run typecheck` checks, holds them to the types the server answers with: each
 * server shape must give every field the console reads, with a type the console accepts, so a
 * renamed or retyped field of the API fails the typecheck instead of the page.
 */
import type * as Console from '../../src/authority/console/web/api-types.d.ts';
import type { PortAccessAnswer, CallerAccessView } from '../../src/authority/access/last-access.ts';
import type { AuditView } from '../../src/authority/audit/log.ts';
import type { LicenseService } from '../../src/authority/licenses/service.ts';
import type { LicenseView } from '../../src/authority/licenses/view.ts';
import type { PortDetail, PortLicense } from '../../src/authority/register/port-view.ts';
import type { RegisterService } from '../../src/authority/register/service.ts';
import type { Principal } from '../../src/authority/tokens/service.ts';
import type { NumberEntry } from '../../src/register/number-map.ts';
import type { PortRecord } from '../../src/register/port-record.ts';

/** Compiles only when the server's `Server` can stand where the console expects `Read`. */
type Gives<Server extends Read, Read> = [Server, Read];

export type ConsoleReadsWhatTheApiAnswers = [
  Gives<Pick<Principal, 'id' | 'name' | 'role' | 'service'>, Console.Whoami>,
  Gives<PortRecord, Console.PortRecord>,
  Gives<PortLicense, Console.PortLicense>,
  Gives<PortDetail, Console.PortDetail>,
  Gives<LicenseView, Console.License>,
  Gives<Awaited<ReturnType<LicenseService['all']>>, Console.LicenseList>,
  Gives<CallerAccessView, Console.Caller>,
  Gives<PortAccessAnswer, Console.PortAccess>,
  Gives<AuditView, Console.AuditEntry>,
  Gives<NumberEntry, Console.NumberEntry>,
  Gives<Awaited<ReturnType<RegisterService['reclaim']>>, Console.ReclaimAnswer>,
];
