import { useLayoutEffect } from 'react';
import { AlarmConsole, useActiveCounts } from './components/AlarmConsole';
import { DeviceView } from './components/DeviceView';
import { CompareView } from './components/CompareView';
import { FleetOverview } from './components/FleetOverview';
import { Header } from './components/Header';
import { setSiteZone, useDisplayZone } from './lib/format';
import { useRoute, type Route } from './lib/route';
import type { SessionState } from './lib/session';

export function App({ session }: { session: SessionState }) {
  const route = useRoute();
  const counts = useActiveCounts();
  // Every time on the page is drawn in the display zone: a new choice draws the page again.
  const zone = useDisplayZone();
  // Only a cabinet's own page has a site zone (DeviceView sets it).
  useLayoutEffect(() => {
    if (route.page !== 'device') setSiteZone(null);
  }, [route.page]);
  return (
    <div className="app">
      <Header route={route} session={session} activeAlarms={counts} />
      <main key={zone}>
        <Page route={route} anyActive={counts ? counts.critical + counts.warning + counts.info > 0 : undefined} />
      </main>
    </div>
  );
}

/** The landing page is the alarm console while anything is active, else the fleet. */
function Page({ route, anyActive }: { route: Route; anyActive: boolean | undefined }) {
  switch (route.page) {
    case 'device':
      return (
        <DeviceView
          deviceId={route.deviceId}
          tab={route.tab}
          {...(route.range ? { range: route.range } : {})}
          {...(route.signals ? { signals: route.signals } : {})}
        />
      );
    case 'alarms':
      return <AlarmConsole />;
    case 'fleet':
      return <FleetOverview />;
    case 'compare':
      return (
        <CompareView
          {...(route.signal ? { signal: route.signal } : {})}
          {...(route.range ? { range: route.range } : {})}
        />
      );
    case 'home':
      // Until the counts arrive, or on a server without alarms, the fleet.
      return anyActive ? <AlarmConsole /> : <FleetOverview />;
  }
}
