import { useEffect, useState } from 'preact/hooks';
import type { UserDocument } from '../../../http-contract/index.js';
import { devices } from '../state.js';

interface Props {
  user: UserDocument;
  /** Sets both rights on a camera (both false takes the grant away); settles when the server answered. */
  onChange(camera: string, rights: { live: boolean; recordings: boolean }): Promise<void>;
}

/** A viewer's rights per camera: a Live and a Recordings checkbox for each camera. */
export function UserGrants({ user, onChange }: Props) {
  // What was just clicked shows at once (the box stays as the user set it) until the server's
  // answer comes back as a new `user`; a refused change then shows the server's rights again.
  const [clicked, setClicked] = useState<ReadonlyMap<string, { live: boolean; recordings: boolean }>>(
    new Map(),
  );
  useEffect(() => setClicked(new Map()), [user]);
  if (user.role === 'admin') {
    return (
      <p id="user-grants-admin" class="muted">
        An admin sees every camera. Grants apply if the role becomes viewer.
      </p>
    );
  }
  const listed = devices.value ?? [];
  // Grants on cameras no longer listed (deleted) stay visible, so they can be taken away.
  const cameras = [
    ...listed.map((d) => ({ id: d.id, name: d.name })),
    ...user.grants
      .filter((g) => !listed.some((d) => d.id === g.camera))
      .map((g) => ({ id: g.camera, name: g.camera })),
  ];
  if (cameras.length === 0) return <p class="muted">No cameras yet: add one under Manage cameras.</p>;
  return (
    <table id="user-grants" class="grants">
      <caption>What {user.name} may see</caption>
      <thead>
        <tr>
          <th scope="col">Camera</th>
          <th scope="col">Live</th>
          <th scope="col">Recordings</th>
        </tr>
      </thead>
      <tbody>
        {cameras.map((c) => {
          const found = user.grants.find((g) => g.camera === c.id);
          const grant = clicked.get(c.id) ?? {
            live: found?.live ?? false,
            recordings: found?.recordings ?? false,
          };
          const label = c.name === c.id ? c.id : `${c.name} (${c.id})`;
          return (
            <tr key={c.id} data-camera={c.id}>
              <th scope="row">{label}</th>
              {(['live', 'recordings'] as const).map((right) => (
                <td key={right}>
                  <input
                    type="checkbox"
                    data-grant={c.id}
                    data-right={right}
                    checked={grant[right]}
                    aria-label={`${right === 'live' ? 'Live view' : 'Recordings'} of ${label}`}
                    onChange={(e) => {
                      const rights = { ...grant, [right]: e.currentTarget.checked };
                      setClicked((shown) => new Map(shown).set(c.id, rights));
                      // Answered (a new `user` has come if it worked): the server's rights show again.
                      void onChange(c.id, rights).finally(() =>
                        setClicked((shown) => {
                          const next = new Map(shown);
                          next.delete(c.id);
                          return next;
                        }),
                      );
                    }}
                  />
                </td>
              ))}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
