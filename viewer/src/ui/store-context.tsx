// One view store per open bundle, provided through context; components subscribe with narrow selectors so a
// cursor step re-renders only what depends on the cursor.
import { createContext, useContext, useSyncExternalStore, type ReactNode } from 'react';
import type { Store, ViewState } from '../model/store.ts';

const StoreContext = createContext<Store<ViewState> | null>(null);

export function StoreProvider({ store, children }: { store: Store<ViewState>; children: ReactNode }) {
  return <StoreContext.Provider value={store}>{children}</StoreContext.Provider>;
}

export function useStore(): Store<ViewState> {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useStore outside StoreProvider');
  return store;
}

export function useView<T>(selector: (s: ViewState) => T): T {
  const store = useStore();
  return useSyncExternalStore(store.subscribe, () => selector(store.getState()));
}
