// The way out of the state module for recalls (RFC 8881 10.2 CB_RECALL, 12.5.5 CB_LAYOUTRECALL).
// The MDS implements it: it finds a backchannel with StateManager::FindBackchannel and sends
// CB_SEQUENCE + CB_RECALL (or CB_LAYOUTRECALL, added by the layout work). Called without any
// state lock held, so an implementation may call back into StateManager.
#pragma once

#include <cstdint>

#include "xdr/nfs4.h"

namespace manifold::state {

class RecallSink {
 public:
  virtual ~RecallSink() = default;
  virtual void RecallDelegation(clientid4 clientid, uint64_t fileid, const stateid4& stateid,
                                open_delegation_type4 type) = 0;
  virtual void RecallLayout(clientid4 clientid, uint64_t fileid, const stateid4& stateid,
                            layouttype4 type) = 0;
};

}  // namespace manifold::state
